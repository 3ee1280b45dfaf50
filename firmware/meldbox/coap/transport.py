"""The datagram transport under the CoAP message layer: a bound, non-blocking UDP socket.

A transport has `recv(limit) -> (data, peer) or None`, `sendto(data, peer)` and
`pollable` (what the asyncio loop waits on); a DTLS transport can offer the same later.
"""
import asyncio


class UdpTransport:
    def __init__(self, sock):
        self.sock = sock
        self.pollable = sock

    def recv(self, limit):
        """The next datagram, cut to `limit` bytes (the kernel drops the rest), or None.
        Not readinto() into a preallocated buffer: on a UDP socket MicroPython's stream
        readinto() runs queued datagrams together, and the unix port has no
        recvfrom_into; recvfrom frees its `limit`-byte scratch buffer at once."""
        try:
            return self.sock.recvfrom(limit)
        except OSError:     # nothing waiting (EAGAIN), or an ICMP error for an earlier send
            return None

    def sendto(self, data, peer):
        self.sock.sendto(data, peer)


def readable(obj):
    # Park the task in asyncio's I/O queue until obj is readable (as asyncio's streams do).
    yield asyncio.core._io_queue.queue_read(obj)


def source_address(peer):
    """The sender's address without its port: what per-source limits count by (a new
    source port must not buy a fresh allowance). `peer` is a raw sockaddr (bytes, the
    unix port: family, port, address), an (address, port) tuple (lwIP), or a test's name."""
    if isinstance(peer, tuple):
        return peer[0]
    if isinstance(peer, (bytes, bytearray)) and len(peer) >= 8:
        family = peer[0] | peer[1] << 8        # sa_family, host byte order (little endian)
        if family == 2:                        # AF_INET: port at 2..3, address at 4..7
            return bytes(peer[4:8])
        if family == 10 and len(peer) >= 24:   # AF_INET6: flowinfo at 4..7, address 8..23
            return bytes(peer[8:24])
    return peer
