"""coap:// URIs (RFC 7252 section 6): parse a receipt URI, resolve its address, and
turn a path into Uri-Path/Uri-Query options (section 6.4, with percent-decoding).

Peers are kept as the socket layer gives them (a raw sockaddr on the unix port, a
tuple elsewhere): they are the keys of per-peer state and must compare equal to what
`recvfrom` returns.
"""
import socket

from meldbox.coap.message import URI_PATH, URI_QUERY

DEFAULT_PORT = 5683
_HEX = b"0123456789abcdefABCDEF"


def parse(uri):
    """'coap://host:port/a/b?q' -> ('host', port, '/a/b?q'); raises ValueError."""
    scheme = "coap://"
    if not isinstance(uri, str) or uri[:len(scheme)].lower() != scheme:
        raise ValueError("not a coap:// URI: %r" % (uri,))
    if "#" in uri:
        raise ValueError("a CoAP URI has no fragment")
    rest = uri[len(scheme):]
    cut = len(rest)
    for sep in "/?":
        i = rest.find(sep)
        if 0 <= i < cut:
            cut = i
    authority, path = rest[:cut], rest[cut:]
    if not path.startswith("/"):
        path = "/" + path
    if authority.startswith("["):       # IPv6 literal
        end = authority.find("]")
        if end < 0:
            raise ValueError("unclosed IPv6 literal in %r" % uri)
        host, port_text = authority[1:end], authority[end + 1:]
        if port_text and not port_text.startswith(":"):
            raise ValueError("bad authority in %r" % uri)
        port_text = port_text[1:]
    else:
        host, _, port_text = authority.partition(":")
    if not host or "@" in host:
        raise ValueError("no host in %r" % uri)
    port = DEFAULT_PORT
    if port_text:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise ValueError("bad port in %r" % uri)
        port = int(port_text)
    return host, port, path


def resolve(host, port):
    """The peer address for sendto (blocks for DNS names; literals resolve at once)."""
    addr = socket.getaddrinfo(host, port)[0][-1]
    return bytes(addr) if isinstance(addr, bytearray) else addr


def peer_text(peer):
    """'127.0.0.1:5683' for any peer form (for logs and the panel)."""
    if isinstance(peer, tuple):
        return "%s:%d" % peer[:2]
    family, ip, port = socket.sockaddr(peer)[:3]
    text = socket.inet_ntop(family, ip)
    return ("[%s]:%d" if ":" in text else "%s:%d") % (text, port)


def request_options(path):
    """'/a/b%20c?x=1' -> [(URI_PATH, b'a'), (URI_PATH, b'b c'), (URI_QUERY, b'x=1')]."""
    path, _, query = path.partition("?")
    opts = []
    if path not in ("", "/"):
        for seg in path[1:].split("/"):
            opts.append((URI_PATH, _unquote(seg)))
    if query:
        for part in query.split("&"):
            opts.append((URI_QUERY, _unquote(part)))
    return opts


def _unquote(text):
    raw = text.encode()
    if b"%" not in raw:
        return raw
    out = bytearray()
    i = 0
    while i < len(raw):
        c = raw[i]
        if c == 0x25:   # '%'
            pair = raw[i + 1:i + 3]
            if len(pair) != 2 or any(h not in _HEX for h in pair):
                raise ValueError("bad percent-encoding in %r" % text)
            out.append(int(str(pair, "ascii"), 16))
            i += 3
        else:
            out.append(c)
            i += 1
    return bytes(out)
