"""`socket` for the QEMU board, frozen as a top-level module: the port has no network
stack, and the firmware's CoAP code names peers with socket.getaddrinfo. Addresses are
(host, port) tuples, as on the RP2350's lwIP sockets; the datagrams themselves travel
through the board's in-memory socket (boards/qemu/transport.py), not through here."""
AF_INET = 2
SOCK_DGRAM = 2


def getaddrinfo(host, port, *args):
    """Literal addresses only: the in-memory network has no DNS."""
    parts = host.split(".")
    if len(parts) != 4 or not all(p.isdigit() and int(p) < 256 for p in parts):
        raise OSError("no DNS on the QEMU board: %r" % host)
    return [(AF_INET, SOCK_DGRAM, 0, "", (host, int(port)))]
