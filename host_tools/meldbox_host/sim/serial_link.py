"""The simulated board's USB serial port (`meldbox sim-device --serial-link PATH`).

Two pseudo-terminals and a relay thread between their masters: the firmware opens the
slave of one (its path goes to sim.json as "serial"; firmware/boards/sim/serial.py), and
PATH becomes a symlink to the slave of the other, which `meldbox device provision --port
PATH` opens with pyserial like a board's /dev/ttyACM0. Both slaves are raw (no echo, no
line editing, no signals), as a USB CDC port is. Like USB with no host listening, output
that the host side does not take is dropped rather than stalling the device.
"""

import errno
import os
import select
import threading
import tty
from pathlib import Path

CHUNK = 4096
POLL_MS = 200


class SerialLink:
    def __init__(self, host_path):
        self.host_path = Path(host_path)
        self._dev_master, self._dev_slave = os.openpty()
        self._host_master, self._host_slave = os.openpty()
        # The relay keeps both slaves open: a pty master reads EIO while no slave is open
        # (before the firmware opens its end, between two host sessions).
        for fd in (self._dev_slave, self._host_slave):
            tty.setraw(fd)
        for fd in (self._dev_master, self._host_master):
            os.set_blocking(fd, False)
        self.device_path = os.ttyname(self._dev_slave)
        self.host_tty = os.ttyname(self._host_slave)
        tmp = self.host_path.with_name(self.host_path.name + ".tmp")
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(self.host_tty)
        os.replace(tmp, self.host_path)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._relay, name="serial-link", daemon=True)
        self._thread.start()

    def _relay(self):
        poller = select.poll()
        peer = {self._dev_master: self._host_master, self._host_master: self._dev_master}
        for fd in peer:
            poller.register(fd, select.POLLIN)
        while not self._stop.is_set():
            for fd, _ in poller.poll(POLL_MS):
                try:
                    data = os.read(fd, CHUNK)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError as e:
                    if e.errno == errno.EIO:
                        continue
                    raise
                self._forward(peer[fd], data)

    @staticmethod
    def _forward(fd, data):
        view = memoryview(data)
        while view:
            try:
                n = os.write(fd, view)
            except BlockingIOError:
                return  # the other side does not read: drop, as USB does
            view = view[n:]

    def close(self):
        self._stop.set()
        self._thread.join(timeout=2)
        try:
            if os.readlink(self.host_path) == self.host_tty:
                self.host_path.unlink()
        except OSError:
            pass
        for fd in (self._dev_master, self._dev_slave, self._host_master, self._host_slave):
            try:
                os.close(fd)
            except OSError:
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
