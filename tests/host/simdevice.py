"""Start and stop real simulated devices (`meldbox sim-device`) from tests."""

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

from meldbox_host.sim.ctl import send_command

MELDBOX = Path(sys.executable).with_name("meldbox")
READY_TIMEOUT_S = 30


class SimDevice:
    """A `meldbox sim-device` process in its own process group (SIGKILL to the group is a
    power cut). Use as a context manager, or call start()/stop()."""

    def __init__(self, state, *flags, heap=None):
        self.state = Path(state)
        self.flags = list(flags)
        if heap:
            self.flags += ["--heap", heap]
        self.proc = None
        self.ready = None

    def start(self, *extra_flags, may_die=False):
        """Start and wait for the ready line. With may_die, a device that dies before it
        is ready (a simulated power cut during boot) returns None instead of raising."""
        cmd = [str(MELDBOX), "sim-device", "--state", str(self.state), "--port", "0"]
        cmd += self.flags + list(extra_flags)
        self.state.mkdir(parents=True, exist_ok=True)
        self.log = open(self.state / "sim-device.log", "a")
        self.proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=self.log,
            stdin=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )
        readable, _, _ = select.select([self.proc.stdout], [], [], READY_TIMEOUT_S)
        line = self.proc.stdout.readline() if readable else ""
        if not line:
            if may_die and readable:  # stdout closed: the device process is ending
                try:
                    self.proc.wait(timeout=10)
                    self.ready = None
                    return None
                except subprocess.TimeoutExpired:
                    pass
            self.power_cut()
            err = (self.state / "sim-device.log").read_text()[-2000:]
            raise RuntimeError("sim-device did not become ready: %r %s" % (line, err))
        self.ready = json.loads(line)
        assert self.ready["event"] == "ready", self.ready
        return self.ready

    @property
    def addr(self):
        return "coap://%s:%d" % (self.ready["host"], self.ready["port"])

    @property
    def udp(self):
        return (self.ready["host"], self.ready["port"])

    @property
    def device_key(self):
        return bytes.fromhex(self.ready["device_key"])

    def ctl(self, *args, check=True):
        return subprocess.run(
            [str(MELDBOX), "sim-ctl", "--state", str(self.state)] + list(args),
            capture_output=True,
            text=True,
            check=check,
            timeout=60,
        )

    def control(self, cmd, **fields):
        """One request on the control socket (boards/sim/control.py); the reply dict."""
        return send_command(self.state, dict(fields, cmd=cmd))

    def wait_until(self, predicate, timeout=60, step=0.05):
        """Poll the device's state ({"cmd": "status"}) until predicate(status) holds;
        fail with the last status at the deadline."""
        deadline = time.monotonic() + timeout
        while True:
            st = self.control("status")
            if predicate(st):
                return st
            assert time.monotonic() < deadline, "device state never reached: %r" % st
            time.sleep(step)

    def stop(self):
        """Orderly stop (SIGTERM); then nothing of the process group may outlive it."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.power_cut()
        if self.proc:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        return self.proc.returncode if self.proc else None

    def power_cut(self):
        """SIGKILL to the whole process group: the device dies mid-whatever."""
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=15)

    def wait_exit(self, timeout=30):
        return self.proc.wait(timeout=timeout)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
