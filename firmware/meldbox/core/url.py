"""The host part of a notice item's URL (shown on the panel's list rows)."""


def host_of(url):
    """'https://user@a.example:8080/x?y' -> 'a.example:8080'."""
    i = url.find("://")
    s = url[i + 3:] if i >= 0 else url
    end = len(s)
    for stop in "/?#":
        j = s.find(stop)
        if 0 <= j < end:
            end = j
    s = s[:end]
    at = s.rfind("@")
    return s[at + 1:] if at >= 0 else s
