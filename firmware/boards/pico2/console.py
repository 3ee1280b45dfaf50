"""The provisioning link on the board's USB console (sys.stdin/sys.stdout).

Frames are hex text (meldbox/provision/framing.py), so a Ctrl-C byte is never part of
one. The link switches MicroPython's own Ctrl-C handling off and acts on the byte
itself: it stops the watchdog and raises KeyboardInterrupt, which ends the firmware and
leaves the REPL to mpremote (`make deploy` on a running device). Without stopping the
watchdog, the board would reset under mpremote a few seconds later.
"""
import sys

import micropython

from meldbox.provision.link import PolledLink

CTRL_C = 3


class ConsoleLink(PolledLink):
    def __init__(self, on_interrupt):
        super().__init__(sys.stdin.buffer, sys.stdout.buffer, watch=sys.stdin)
        self.on_interrupt = on_interrupt
        self.interrupted = False
        micropython.kbd_intr(-1)

    def read(self, buf):
        """As PolledLink.read, but a Ctrl-C byte ends the firmware: what came before it
        is returned first, the next call raises; the bytes after it (mpremote's Ctrl-A
        for the raw REPL) stay unread, for the REPL."""
        if self.interrupted:
            micropython.kbd_intr(CTRL_C)
            self.on_interrupt()
            raise KeyboardInterrupt()
        n = 0
        while n < len(buf) and self._readable():
            b = self._byte()
            if b is None:
                break
            if b == CTRL_C:
                self.interrupted = True
                break
            buf[n] = b
            n += 1
        if self.interrupted and n == 0:
            return self.read(buf)
        return n
