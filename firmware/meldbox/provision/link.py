"""A non-blocking byte link over a stream that select.poll can watch: a board's USB
console (sys.stdin/sys.stdout) or the simulator's pseudo-terminal."""
import select


class PolledLink:
    """`rx` is read, `tx` written (default: rx), `watch` polled (default: rx; a board's
    console polls sys.stdin but reads bytes from sys.stdin.buffer)."""

    def __init__(self, rx, tx=None, watch=None):
        self.rx = rx
        self.tx = rx if tx is None else tx
        self.poller = select.poll()
        self.poller.register(rx if watch is None else watch, select.POLLIN)
        self._one = bytearray(1)

    def _readable(self):
        for _, events in self.poller.ipoll(0):     # ipoll: no list allocated per call
            if events & select.POLLIN:
                return True
        return False

    def _byte(self):
        """One byte that poll said is there, or None when the other end went away."""
        try:
            got = self.rx.readinto(self._one)
        except OSError:
            return None
        return self._one[0] if got else None

    def read(self, buf):
        """Copy what has arrived (at most len(buf) bytes) into buf; never waits.
        One byte at a time: a stream's readinto(buf) would wait for a full buffer."""
        n = 0
        while n < len(buf) and self._readable():
            b = self._byte()
            if b is None:
                break
            buf[n] = b
            n += 1
        return n

    def write(self, data):
        self.tx.write(data)
