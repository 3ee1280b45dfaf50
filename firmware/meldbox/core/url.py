"""The host part of a notice item's URL (shown on the panel's list rows)."""


def host_of(url):
    """'https://user@a.example:8080/x?y' -> 'a.example:8080'. `url`: a str, or a
    cbor.Text (a long URL left in the received buffer). Only the host is copied: a
    2 KiB URL must not need another 2 KiB block."""
    if type(url) is not str:
        return _host_of_utf8(url.view)
    i = url.find("://")
    start = i + 3 if i >= 0 else 0
    end = len(url)
    for stop in "/?#":
        j = url.find(stop, start, end)
        if j >= 0:
            end = j
    at = url.rfind("@", start, end)
    return url[(at + 1 if at >= 0 else start):end]


def _host_of_utf8(b):
    # The same on UTF-8 bytes; every delimiter is ASCII, so the cut stays valid UTF-8.
    n = len(b)
    start = 0
    for i in range(n - 2):
        if b[i] == 0x3A and b[i + 1] == 0x2F and b[i + 2] == 0x2F:     # "://"
            start = i + 3
            break
    end = start
    while end < n and b[end] not in (0x2F, 0x3F, 0x23):               # "/", "?", "#"
        end += 1
    for i in range(end - 1, start - 1, -1):
        if b[i] == 0x40:                                                # "@"
            start = i + 1
            break
    return str(b[start:end], "utf-8")
