"""The QEMU board's network: an in-memory datagram socket (the port has no sockets).

It behaves as the bound, non-blocking UDP socket the board interface's udp_socket()
returns: recvfrom() raises OSError(EAGAIN) when nothing waits, and asyncio can wait on
it (select.poll through io.IOBase's ioctl). Whoever plays the peers (the on-target tests)
puts datagrams in with deliver() and takes the device's datagrams out with take().
"""
import errno
import io
_POLL = 3           # MP_STREAM_POLL
_POLL_RD = 0x0001
_POLL_WR = 0x0004
QUEUE = 64          # datagrams waiting in either direction (a full queue drops, as UDP)


class MemorySocket(io.IOBase):
    def __init__(self, address):
        self.address = address
        self.inbox = []
        self.outbox = []

    # --- the device's side: a non-blocking UDP socket -----------------------------------
    def recvfrom(self, limit):
        if not self.inbox:
            raise OSError(errno.EAGAIN)
        data, peer = self.inbox.pop(0)
        return data[:limit], peer

    def sendto(self, data, peer):
        if len(self.outbox) < QUEUE:
            self.outbox.append((bytes(data), peer))
        return len(data)

    def setblocking(self, flag):
        pass

    def ioctl(self, req, arg):
        if req == _POLL:
            ready = arg & _POLL_WR
            if self.inbox:
                ready |= arg & _POLL_RD
            return ready
        return 0

    def close(self):
        pass

    # --- the peers' side ---------------------------------------------------------------------
    def deliver(self, data, peer):
        if len(self.inbox) < QUEUE:
            self.inbox.append((bytes(data), peer))

    def take(self, peer=None):
        """The oldest datagram the device sent (to `peer`, if given) as (data, peer),
        or None."""
        for i, item in enumerate(self.outbox):
            if peer is None or item[1] == peer:
                return self.outbox.pop(i)
        return None
