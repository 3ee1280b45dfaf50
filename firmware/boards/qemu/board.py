"""The QEMU board (MicroPython's ports/qemu on an MPS3-AN547), behind the board interface
of boards/README.md, for the on-target tests and benchmarks (tests/mcu/, bench/mcu_*.py).

- flash: littlefs on RAM outside the heap (ramflash.py), with power cuts on demand;
- network: an in-memory datagram socket (transport.py); the tests play the peers;
- panel: RGB565 big-endian in RAM outside the heap, as in an ST7789's own memory;
- clock: an RTC the tests set and advance (frozen unless told otherwise), an NTP sync
  they trigger (sync_ntp), ticks from the port's SysTick;
- buttons: pressed for a while by the tests, as the simulator's are.
"""
import time

import uctypes

from boards.qemu.ramflash import RamBlockDevice
from boards.qemu.transport import MemorySocket

BUTTONS = "ABXY"
HEAP_BUDGET = 192 * 1024    # the port's GC heap (firmware/build_mcu.py HEAP_BYTES)
FLASH_ADDR = 0x60000000     # QEMU's DDR on the AN547 (firmware/build_mcu.py FLASH_ADDR)
PANEL_ADDR = 0x61000000     # after the flash: 320 x 240 x 2 bytes


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


class RamDisplay:
    """The panel's pixels (big-endian RGB565, row-major) in RAM outside the heap."""

    def __init__(self, addr, width, height):
        self.width = width
        self.height = height
        self.pixels = memoryview(uctypes.bytearray_at(addr, width * height * 2))
        black = bytes(2 * width)
        for i in range(0, len(self.pixels), 2 * width):
            self.pixels[i:i + 2 * width] = black

    def write(self, x, y, w, h, data):
        stride = w * 2
        if w == self.width:
            start = y * stride
            self.pixels[start:start + h * stride] = data
        else:
            for r in range(h):
                start = ((y + r) * self.width + x) * 2
                self.pixels[start:start + stride] = data[r * stride:(r + 1) * stride]


class QemuBoard:
    name = "qemu-mps3-an547"
    heap_budget = HEAP_BUDGET

    def __init__(self, provisioning=None, clock_at=1800000000, rtc_trusted=True,
                 device_seed=None, address=("10.0.0.2", 5683)):
        """`device_seed`: the bytes the first 32-byte urandom() returns (the vectors'
        device key, so receipts come out byte for byte); afterwards the port's PRNG."""
        self._provisioning = provisioning
        self._rtc = clock_at
        self._rtc_trusted = rtc_trusted
        self._seed = device_seed
        self._address = address
        self.block_device = RamBlockDevice(FLASH_ADDR)
        self.socket = MemorySocket(address)
        self.held_until = {}   # button -> ticks_ms until which it reads as pressed
        self.led = Led()
        self.buzzer = Buzzer()
        self.display = None
        self.app = None
        self.ready_info = None   # what the app reported when it began to serve CoAP

    # --- clock ----------------------------------------------------------------------------
    def rtc_time(self):
        return self._rtc

    def rtc_trusted(self):
        return self._rtc_trusted

    def advance(self, seconds):
        self._rtc += seconds

    def set_time(self, seconds):
        self._rtc = int(seconds)

    def sync_ntp(self, seconds):
        """What the reference board's NTP task does on a reply."""
        self.app.clock.synced_ntp(seconds)

    def ticks_ms(self):
        return time.ticks_ms()

    def urandom(self, n):
        if self._seed is not None and n == len(self._seed):
            seed, self._seed = self._seed, None
            return seed
        import os
        return os.urandom(n)

    # --- flash, network, panel, buttons ---------------------------------------------------------
    def flash(self):
        return self.block_device

    def address(self):
        return self._address

    def udp_socket(self):
        return self.socket

    def make_display(self, width, height):
        self.display = RamDisplay(PANEL_ADDR, width, height)
        return self.display

    def read_buttons(self):
        """Bit mask of pressed buttons (A=1, B=2, X=4, Y=8)."""
        now = time.ticks_ms()
        mask = 0
        for i, name in enumerate(BUTTONS):
            until = self.held_until.get(name)
            if until is not None:
                if time.ticks_diff(until, now) > 0:
                    mask |= 1 << i
                else:
                    del self.held_until[name]
        return mask

    def press(self, name, hold_ms):
        self.held_until[name] = time.ticks_add(time.ticks_ms(), hold_ms)

    # --- provisioning and lifecycle --------------------------------------------------------------
    def provisioning(self):
        return self._provisioning

    def serial(self):
        return None

    def ready(self, info):
        self.ready_info = info

    def tasks(self, app):
        self.app = app
        return []

    def feed_watchdog(self):
        pass
