"""The simulated board (MicroPython unix port), behind the same interface as a real board.

Settings come from STATE_DIR/sim.json (written by `meldbox sim-device`): clock offset,
frozen clock, power cut, network address. Flash is STATE_DIR/flash.img, the panel's
pixels STATE_DIR/panel.rgb565; `sim-ctl` talks to the control socket (control.py).
"""
import json
import os
import socket
import sys
import time

from boards.sim.control import Control
from boards.sim.display import FileDisplay
from boards.sim.flash import BLOCK_COUNT, BLOCK_SIZE, FileBlockDevice

BUTTONS = "ABXY"    # bit i of read_buttons() is BUTTONS[i]
PRESS_MIN_MS = 40   # a press lasts at least twice ui/buttons.py's debounce
HEAP_BUDGET = 256 * 1024   # the simulator's default --heap (host_tools/meldbox_host/sim/paths.py)


class Led:
    def __init__(self):
        self.color = (0, 0, 0)

    def rgb(self, r, g, b):
        self.color = (r, g, b)


class Buzzer:
    def __init__(self):
        self.sounding = False

    def tone(self, freq_hz, ms):
        self.sounding = True

    def off(self):
        self.sounding = False


class SimBoard:
    name = "sim"
    heap_budget = HEAP_BUDGET
    buttons = BUTTONS

    def __init__(self, state_dir):
        self.state_dir = state_dir
        with open(state_dir + "/sim.json") as f:
            self.settings = json.load(f)
        self.frozen = bool(self.settings.get("frozen_clock"))
        self.offset = int(self.settings.get("clock_offset") or 0)
        if self.settings.get("clock_at") is not None:
            self.offset = int(self.settings["clock_at"]) - int(time.time())
        self._frozen_at = int(time.time()) + self.offset
        self._rtc_trusted = not self.settings.get("rtc_untrusted")
        seed = self.settings.get("rng_seed")
        if seed is not None:
            import random
            random.seed(int(seed))
            self._random = random
        else:
            self._random = None
        self.coap_timing = {}
        if self.settings.get("coap_ack_timeout_ms"):
            self.coap_timing["ack_timeout_ms"] = int(self.settings["coap_ack_timeout_ms"])
        # button -> [hold_ms, ticks_ms the panel first read it pressed, or None]
        self.held = {}
        self.led = Led()
        self.buzzer = Buzzer()
        self.display = None    # created by the app through make_display()

    # --- clock: a battery-backed, trusted RTC over the host clock ---------------
    def rtc_time(self):
        if self.frozen:
            return self._frozen_at
        return int(time.time()) + self.offset

    def rtc_trusted(self):
        return self._rtc_trusted

    def advance(self, seconds):
        self.offset += seconds
        self._frozen_at += seconds

    def set_time(self, seconds):
        """Set the RTC (provisioning): the clock reads `seconds` from now on."""
        self.offset = int(seconds) - int(time.time())
        self._frozen_at = int(seconds)

    def ticks_ms(self):
        return time.ticks_ms()

    def urandom(self, n):
        if self._random is not None:     # --rng-seed: reproducible keys for tests
            return bytes(self._random.getrandbits(8) for _ in range(n))
        return os.urandom(n)

    # --- flash --------------------------------------------------------------------
    def flash(self):
        size = self.settings.get("flash")          # --flash; the board's size by default
        return FileBlockDevice(self.state_dir + "/flash.img",
                               block_count=(size // BLOCK_SIZE) if size else BLOCK_COUNT,
                               cut_after=self.settings.get("power_cut_after_writes"),
                               on_cut=self._power_cut)

    def _power_cut(self):
        # Tell the parent (sim-device) to SIGKILL us, and do nothing more meanwhile:
        # blocking here freezes the event loop, so no response leaves after the cut.
        sys.stdout.write('{"event": "power-cut"}\n')
        sys.stdout.flush()
        while True:
            time.sleep(1)

    # --- network --------------------------------------------------------------------
    def address(self):
        return self.settings.get("host", "127.0.0.1"), int(self.settings.get("port", 5683))

    def udp_socket(self):
        return _udp(*self.address())

    # --- panel ----------------------------------------------------------------------
    def make_display(self, width, height):
        self.display = FileDisplay(self.state_dir + "/panel.rgb565", width, height)
        return self.display

    def read_buttons(self):
        """Bit mask of pressed buttons (A=1, B=2, X=4, Y=8). A press lasts its hold from
        the moment the panel first reads it: a finger stays on the button until the panel
        has seen it, however long the event loop was busy (a press of a 100 ms window
        could fall between two polls of a loaded device and be lost)."""
        now = time.ticks_ms()
        mask = 0
        for i, name in enumerate(BUTTONS):
            press = self.held.get(name)
            if press is None:
                continue
            if press[1] is None:
                press[1] = now
            if time.ticks_diff(now, press[1]) < max(press[0], PRESS_MIN_MS):
                mask |= 1 << i
            else:
                del self.held[name]
        return mask

    def press(self, name, hold_ms):
        self.held[name] = [hold_ms, None]

    def pressing(self, name):
        """True until the press of `name` has been read and let go."""
        return name in self.held

    def serial(self):
        """The USB serial port for provisioning (a pty from `sim-device --serial-link`)."""
        path = self.settings.get("serial")
        if not path:
            return None
        from boards.sim.serial import open_link
        return open_link(path)

    # --- provisioning and lifecycle -------------------------------------------------------
    def provisioning(self):
        try:
            with open(self.state_dir + "/provision.json") as f:
                return json.load(f)
        except OSError:
            return None

    def ready(self, info):
        sys.stdout.write(json.dumps(info) + "\n")
        sys.stdout.flush()

    def tasks(self, app):
        return [Control(self, app).run()]

    def feed_watchdog(self):
        pass


def _udp(host, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(socket.getaddrinfo(host, port)[0][-1])
    s.setblocking(False)
    return s

