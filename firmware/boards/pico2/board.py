"""The reference board behind the board interface (boards/README.md): W5500-EVB-Pico2,
or its Wi-Fi variant the Pico 2 W, wired as hardware/pins.json says (pins.py).

Time: a DS3231 read at boot and every RESYNC_MS, extrapolated with ticks_ms in between
(an I2C read per clock query would be wasteful); trusted while its oscillator-stop flag
is clear. NTP corrects it (net.py), but never by more than MAX_NTP_STEP_S once it is
trusted: a wild NTP answer must not move a trusted clock (and with it deadlines and key
expiry) far. The watchdog starts when the app's tasks start and is fed once a second
by a task, so a stalled event loop resets the board.
"""
import json
import os
import socket
import sys
import time

import machine
from machine import I2C, SPI, Pin

from boards.pico2 import pins
from boards.pico2.alerts import Buzzer, Led
from boards.pico2.ds3231 import DS3231

RESYNC_MS = 3600 * 1000          # re-read the DS3231 hourly (ticks_diff is good for days)
TRUST_CHECK_MS = 60 * 1000       # and its oscillator-stop flag every minute
MAX_NTP_STEP_S = 600
NO_RTC_TIME = 1704067200         # 2024-01-01: where an unreadable RTC leaves the clock
WATCHDOG_FEED_MS = 1000
# RP2350 (and RP2040): WATCHDOG_BASE + 0x3000 is the atomic bit-clear alias of CTRL;
# bit 30 is CTRL.ENABLE (pico-sdk hardware/regs/watchdog.h, addressmap.h).
WATCHDOG_CTRL_CLR = {"RP2350": 0x400D8000 + 0x3000, "RP2040": 0x40058000 + 0x3000}
WATCHDOG_ENABLE = 1 << 30
BUTTONS = (pins.BUTTON_A, pins.BUTTON_B, pins.BUTTON_X, pins.BUTTON_Y)   # mask bits 1, 2, 4, 8


class Pico2Board:
    name = pins.BOARD_NAME
    heap_budget = pins.HEAP_BUDGET

    def __init__(self):
        self.i2c = I2C(pins.RTC_I2C, sda=Pin(pins.RTC_SDA), scl=Pin(pins.RTC_SCL), freq=pins.RTC_FREQ)  # noqa: E501
        self.rtc = None
        self._rtc_at = NO_RTC_TIME
        self._synced_at = time.ticks_ms()
        self._sync_rtc()
        self._checked_at = self._synced_at
        self.buttons = [Pin(gpio, Pin.IN, Pin.PULL_UP) for gpio in BUTTONS]
        self.led = Led(pins.LED_R, pins.LED_G, pins.LED_B, pins.PWM_HZ)
        self.buzzer = Buzzer(pins.BUZZER)
        self.display = None
        self.wdt = None
        self.app = None
        self.ip = "0.0.0.0"

    # --- clock ------------------------------------------------------------------------
    def _sync_rtc(self):
        """Read the DS3231. Without an answer on I2C (no module, a loose wire) the board
        keeps counting from what it had, untrusted, rather than not starting at all."""
        now = time.ticks_ms()
        try:
            if self.rtc is None:
                self.rtc = DS3231(self.i2c, pins.RTC_ADDR)
            self._trusted = not self.rtc.stopped()
            self._rtc_at = self.rtc.time()
        except OSError:
            self.rtc = None
            self._trusted = False
            self._rtc_at += time.ticks_diff(now, self._synced_at) // 1000
        self._synced_at = now

    def rtc_time(self):
        now = time.ticks_ms()
        elapsed = time.ticks_diff(now, self._synced_at)
        if elapsed >= RESYNC_MS:
            self._sync_rtc()
            self._checked_at = self._synced_at
            return self._rtc_at
        return self._rtc_at + elapsed // 1000

    def rtc_trusted(self):
        if time.ticks_diff(time.ticks_ms(), self._checked_at) >= TRUST_CHECK_MS:
            self._checked_at = time.ticks_ms()
            try:
                self._trusted = self.rtc is not None and not self.rtc.stopped()
            except OSError:
                self._trusted = False
        return self._trusted

    def set_time(self, seconds):
        """Set the RTC (provisioning, NTP); the oscillator-stop flag is cleared with it.
        Raises OSError when the RTC does not answer."""
        if self.rtc is None:
            self.rtc = DS3231(self.i2c, pins.RTC_ADDR)
        self.rtc.set_time(seconds)
        self._sync_rtc()
        self._checked_at = self._synced_at

    def ntp_sync(self, seconds):
        """An NTP answer: tell the app's clock, and correct the RTC within limits."""
        if self.app is not None:
            self.app.clock.synced_ntp(seconds)
        step = seconds - self.rtc_time()
        if not self.rtc_trusted() or (1 < abs(step) <= MAX_NTP_STEP_S):
            try:
                self.set_time(seconds)
            except OSError as e:
                print("meldbox: cannot set the RTC: %r" % e)
        elif abs(step) > MAX_NTP_STEP_S:
            print("meldbox: NTP differs from the trusted RTC by %d s; RTC kept" % step)

    def ticks_ms(self):
        return time.ticks_ms()

    def urandom(self, n):
        return os.urandom(n)

    # --- storage ----------------------------------------------------------------------
    def flash(self):
        from boards.pico2.flash import block_device
        return block_device()

    # --- network ----------------------------------------------------------------------
    def address(self):
        return "0.0.0.0", pins.COAP_PORT

    def udp_socket(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(socket.getaddrinfo(*self.address())[0][-1])
        s.setblocking(False)
        return s

    # --- panel ------------------------------------------------------------------------
    def make_display(self, width, height):
        from boards.pico2.st7789 import ST7789
        spi = SPI(pins.DISPLAY_SPI, baudrate=pins.DISPLAY_BAUD, polarity=0, phase=0,
                  sck=Pin(pins.DISPLAY_SCK), mosi=Pin(pins.DISPLAY_MOSI))
        self.display = ST7789(spi, Pin(pins.DISPLAY_CS, Pin.OUT, value=1), Pin(pins.DISPLAY_DC, Pin.OUT),  # noqa: E501
                              Pin(pins.DISPLAY_RST, Pin.OUT, value=1), width, height,
                              pins.DISPLAY_MADCTL, bool(pins.DISPLAY_INVERT))
        backlight = machine.PWM(Pin(pins.DISPLAY_BL))
        backlight.freq(pins.PWM_HZ)
        backlight.duty_u16(65535)
        self.backlight = backlight
        return self.display

    def read_buttons(self):
        """Bit mask of pressed buttons (A=1, B=2, X=4, Y=8): pulled up, low when pressed."""
        mask = 0
        bit = 1
        for pin in self.buttons:
            if not pin.value():
                mask |= bit
            bit <<= 1
        return mask

    # --- provisioning and lifecycle ---------------------------------------------------
    def provisioning(self):
        return None         # a board is provisioned over its USB serial port (serial())

    def serial(self):
        from boards.pico2.console import ConsoleLink
        return ConsoleLink(self.stop_watchdog)

    def ready(self, info):
        info = dict(info, host=self.ip)
        print(json.dumps(info))     # on the console; the provisioning tool skips such lines
        self.led.rgb(0, 40, 0)

    def tasks(self, app):
        from boards.pico2.net import Network
        self.app = app
        return [self._watchdog(), Network(self, app.config.get("net")).run()]

    async def _watchdog(self):
        import asyncio
        self.wdt = machine.WDT(timeout=pins.WATCHDOG_MS)
        while True:
            self.wdt.feed()
            await asyncio.sleep_ms(WATCHDOG_FEED_MS)

    def feed_watchdog(self):
        if self.wdt is not None:
            self.wdt.feed()

    def stop_watchdog(self):
        """Pause the hardware watchdog (machine.WDT cannot be stopped), so that the REPL
        can take over after Ctrl-C."""
        if self.wdt is None:
            return
        chip = "RP2350" if "RP2350" in sys.implementation._machine else "RP2040"
        machine.mem32[WATCHDOG_CTRL_CLR[chip]] = WATCHDOG_ENABLE
        self.wdt = None
