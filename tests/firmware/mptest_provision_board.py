"""The reference board's support code (boards/pico2) on the unix port, with stand-ins
for what only the board has (machine, rp2, network, ntptime): the DS3231's calendar and
BCD handling and its oscillator-stop flag, the clock-trust and NTP policy, the buttons'
mask, the ST7789 command stream of the UI's display protocol, LED and buzzer PWM, the
network bring-up calls, and the flash hand-over. The stand-ins record what the code asks
of the hardware; the DS3231 one keeps its registers as the chip does."""
import sys
import time

from mptest import eq, raises


class Namespace:
    pass


# --- stand-ins for the board's modules --------------------------------------------------
class Pin:
    IN = 0
    OUT = 1
    PULL_UP = 1
    levels = {}

    def __init__(self, gpio, mode=None, pull=None, value=None):
        self.gpio = gpio
        if value is not None:
            Pin.levels[gpio] = value

    def value(self, v=None):
        if v is None:
            return Pin.levels.get(self.gpio, 1)
        Pin.levels[self.gpio] = v
        return None


class PWM:
    def __init__(self, pin):
        self.pin = pin
        self.f = None
        self.duty = None

    def freq(self, f):
        self.f = f

    def duty_u16(self, d):
        self.duty = d


class Timer:
    ONE_SHOT = 0

    def __init__(self, *args):
        self.callback = None

    def init(self, mode=None, period=None, callback=None):
        self.period = period
        self.callback = callback

    def deinit(self):
        self.callback = None


class DS3231Chip:
    """The chip's register file behind I2C: time 00-06, control 0E, status 0F."""
    def __init__(self, freq=None, **pins):
        self.regs = bytearray(19)
        self.regs[3:6] = b"\x01\x01\x01"   # 2000-01-01 00:00:00, a Monday, as after power-up
        self.regs[0x0E] = 0x1C
        self.regs[0x0F] = 0x88      # OSF set, as after the first power-up

    def readfrom_mem_into(self, addr, reg, buf):
        assert addr == 0x68, addr
        buf[:] = self.regs[reg:reg + len(buf)]

    def writeto_mem(self, addr, reg, data):
        assert addr == 0x68, addr
        self.regs[reg:reg + len(data)] = data


CHIPS = []


def make_i2c(bus_id, sda=None, scl=None, freq=None):
    chip = DS3231Chip()
    CHIPS.append(chip)
    return chip


class SPI:
    log = []

    def __init__(self, bus_id, baudrate=None, polarity=0, phase=0, sck=None, mosi=None):
        self.baudrate = baudrate

    def write(self, data):
        SPI.log.append((Pin.levels.get(8), bytes(data)))     # GPIO 8 is the display's D/C


class WDT:
    def __init__(self, timeout):
        self.timeout = timeout
        self.feeds = 0

    def feed(self):
        self.feeds += 1


machine = Namespace()
machine.Pin = Pin
machine.PWM = PWM
machine.Timer = Timer
machine.I2C = make_i2c
machine.SPI = SPI
machine.WDT = WDT
machine.mem32 = {}
sys.modules["machine"] = machine

rp2 = Namespace()
rp2.Flash = lambda: "rp2.Flash()"
sys.modules["rp2"] = rp2

from boards.pico2 import pins  # noqa: E402
from boards.pico2.board import MAX_NTP_STEP_S, Pico2Board  # noqa: E402
from boards.pico2.ds3231 import DS3231, civil_from_days, days_from_civil  # noqa: E402


def fresh_board():
    Pin.levels = {}
    return Pico2Board()


# --- DS3231 -----------------------------------------------------------------------------
def test_calendar_matches_gmtime_from_1970_to_2199():
    t = 0
    while t < 7258118400:           # 2200-01-01
        y, m, d = time.gmtime(t)[:3]
        eq(days_from_civil(y, m, d), t // 86400, "days of %d-%d-%d" % (y, m, d))
        eq(civil_from_days(t // 86400), (y, m, d))
        t += 86400 * 37 + 3600      # steps through every month and leap day eventually
    eq(days_from_civil(2000, 2, 29), 11016)
    eq(civil_from_days(days_from_civil(2100, 2, 28) + 1), (2100, 3, 1))   # 2100 is no leap year


def test_rtc_set_writes_bcd_clears_the_stop_flag_and_reads_back():
    chip = DS3231Chip()
    rtc = DS3231(chip)
    eq(rtc.stopped(), True)
    t = days_from_civil(2027, 3, 14) * 86400 + 15 * 3600 + 9 * 60 + 26    # a Sunday
    rtc.set_time(t)
    eq(bytes(chip.regs[0:7]), bytes((0x26, 0x09, 0x15, 7, 0x14, 0x03, 0x27)))
    eq(rtc.stopped(), False)
    eq(chip.regs[0x0F] & 0x08, 0x08)      # the other status bits are kept
    eq(rtc.time(), t)


def test_rtc_century_bit_and_range():
    chip = DS3231Chip()
    rtc = DS3231(chip)
    t = days_from_civil(2100, 1, 1) * 86400 + 1
    rtc.set_time(t)
    eq(chip.regs[5], 0x81)
    eq(chip.regs[6], 0x00)
    eq(rtc.time(), t)
    before = bytes(chip.regs)
    raises(ValueError, rtc.set_time, days_from_civil(2200, 1, 1) * 86400)
    raises(ValueError, rtc.set_time, days_from_civil(1999, 12, 31) * 86400)
    eq(bytes(chip.regs), before)


def test_rtc_reads_a_clock_left_in_12_hour_mode():
    chip = DS3231Chip()
    rtc = DS3231(chip)
    chip.regs[0:7] = bytes((0x00, 0x30, 0x40 | 0x20 | 0x11, 1, 0x01, 0x01, 0x30))   # 11:30 PM
    eq(rtc.time(), days_from_civil(2030, 1, 1) * 86400 + 23 * 3600 + 30 * 60)
    chip.regs[2] = 0x40 | 0x12                                                      # 12 AM
    eq(rtc.time(), days_from_civil(2030, 1, 1) * 86400 + 30 * 60)


def test_rtc_keeps_its_oscillator_running_on_battery():
    chip = DS3231Chip()
    chip.regs[0x0E] = 0x9C          # EOSC set: the oscillator would stop on battery
    DS3231(chip)
    eq(chip.regs[0x0E], 0x1C)


# --- the board ----------------------------------------------------------------------------
def test_buttons_are_read_active_low_as_a_mask():
    board = fresh_board()
    eq(board.read_buttons(), 0)
    Pin.levels[pins.BUTTON_A] = 0
    Pin.levels[pins.BUTTON_Y] = 0
    eq(board.read_buttons(), 1 | 8)
    Pin.levels[pins.BUTTON_A] = 1
    Pin.levels[pins.BUTTON_B] = 0
    Pin.levels[pins.BUTTON_X] = 0
    eq(board.read_buttons(), 2 | 4 | 8)


def test_clock_is_trusted_only_once_set():
    board = fresh_board()
    eq(board.rtc_trusted(), False)          # oscillator-stop flag of a new chip
    eq(board.rtc_time(), 946684800)         # what a new chip reads: 2000-01-01
    board.set_time(1800000000)
    eq(board.rtc_trusted(), True)
    now = board.rtc_time()
    assert 1800000000 <= now <= 1800000001, now
    eq(board.heap_budget, 256 * 1024)
    eq(board.name, "w5500-evb-pico2")


def test_ntp_sets_an_untrusted_clock_and_only_nudges_a_trusted_one():
    board = fresh_board()
    synced = []
    board.app = Namespace()
    board.app.clock = Namespace()
    board.app.clock.synced_ntp = synced.append
    board.ntp_sync(1800000000)                      # untrusted: taken whatever it says
    eq(board.rtc_trusted(), True)
    eq(board.rtc_time() // 10, 180000000)
    board.ntp_sync(1800000000 + 120)                # trusted, a small step: corrected
    eq(board.rtc_time() // 10, 180000012)
    board.ntp_sync(1800000000 + 120 + MAX_NTP_STEP_S + 100)     # a wild answer: RTC kept
    eq(board.rtc_time() // 10, 180000012)
    eq(len(synced), 3)


def test_display_speaks_the_ui_display_protocol_to_the_st7789():
    board = fresh_board()
    SPI.log = []
    d = board.make_display(320, 240)
    eq((d.width, d.height), (320, 240))
    commands = [data[0] for dc, data in SPI.log if dc == 0]
    eq(commands, [0x01, 0x11, 0x3A, 0x36, 0x21, 0x13, 0x2A, 0x2B, 0x2C, 0x29])
    eq(board.backlight.duty, 65535)
    SPI.log = []
    pixels = bytes(range(16))
    d.write(10, 20, 4, 2, memoryview(pixels))
    eq(SPI.log, [(0, b"\x2a"), (1, b"\x00\x0a\x00\x0d"), (0, b"\x2b"), (1, b"\x00\x14\x00\x15"),
                 (0, b"\x2c"), (1, pixels)])
    raises(ValueError, d.write, 318, 0, 4, 1, bytes(8))      # off the right edge
    raises(ValueError, d.write, 0, 0, 4, 2, bytes(8))        # too few bytes
    eq(Pin.levels[pins.DISPLAY_CS], 1)                       # deselected between transfers


def test_led_and_buzzer_pwm():
    board = fresh_board()
    board.led.rgb(255, 0, 128)
    eq([p.duty for p in board.led.pwms], [65535, 0, 128 * 257])
    eq(board.led.pwms[0].pin.gpio, pins.LED_R)
    board.buzzer.tone(2000, 50)
    eq((board.buzzer.pwm.f, board.buzzer.pwm.duty, board.buzzer.timer.period), (2000, 32768, 50))
    board.buzzer.timer.callback(board.buzzer.timer)     # the one-shot timer fires
    eq((board.buzzer.pwm.duty, board.buzzer.sounding), (0, False))


def test_watchdog_is_fed_and_can_be_paused_for_the_repl():
    board = fresh_board()
    board.feed_watchdog()                   # before the tasks start: nothing to feed
    board.wdt = WDT(8000)
    board.feed_watchdog()
    eq(board.wdt.feeds, 1)
    machine.mem32.clear()
    board.stop_watchdog()
    eq(list(machine.mem32.values()), [1 << 30])
    assert list(machine.mem32)[0] in (0x400D8000 + 0x3000, 0x40058000 + 0x3000)
    eq(board.wdt, None)


def test_flash_is_handed_over_from_the_root_mount():
    real = sys.modules.get("vfs")
    calls = []
    fake = Namespace()
    fake.umount = calls.append
    sys.modules["vfs"] = fake
    try:
        from boards.pico2.flash import block_device
    finally:
        if real is not None:
            sys.modules["vfs"] = real
    eq(block_device(), "rp2.Flash()")
    eq(calls, ["/"])
    assert "/flash/lib" in sys.path


def test_make_board_names_its_platform():
    from boards.board import make_board
    e = raises(RuntimeError, make_board)
    assert sys.platform in str(e), e


# --- network --------------------------------------------------------------------------------
class Nic:
    def __init__(self, with_ipconfig=True):
        self.calls = []
        if not with_ipconfig:
            self.ipconfig = None

    def active(self, on):
        self.calls.append(("active", on))

    def ipconfig(self, *args, **kw):
        self.calls.append(("ipconfig", kw))

    def ifconfig(self, arg=None):
        self.calls.append(("ifconfig", arg))


def network_with(nic):
    net = Namespace()
    net.WIZNET5K = lambda: nic
    net.dns = []
    net.ipconfig = lambda **kw: net.dns.append(kw)
    sys.modules["network"] = net
    import boards.pico2.net as netmod
    netmod.network = net
    return netmod, net


def test_network_dhcp_and_static_addresses():
    nic = Nic()
    netmod, net = network_with(nic)
    netmod.bring_up({})
    eq(nic.calls, [("active", True), ("ipconfig", {"dhcp4": True})])
    nic.calls = []
    netmod.bring_up({"dhcp": False, "ip": "192.0.2.10/24", "gw": "192.0.2.1", "dns": "192.0.2.53"})
    eq(nic.calls, [("active", True), ("ipconfig", {"addr4": "192.0.2.10/24", "gw4": "192.0.2.1"})])
    eq(net.dns, [{"dns": "192.0.2.53"}])


def test_network_on_an_image_without_ipconfig():
    nic = Nic(with_ipconfig=False)
    netmod, net = network_with(nic)
    netmod.bring_up({"dhcp": False, "ip": "192.0.2.10/22", "gw": "192.0.2.1"})
    eq(nic.calls, [("active", True), ("ifconfig", ("192.0.2.10", "255.255.252.0", "192.0.2.1", "192.0.2.1"))])  # noqa: E501
    eq(netmod.netmask(30), "255.255.255.252")


def test_ntp_answer_is_posix_seconds():
    ntptime = Namespace()
    ntptime.time = lambda: 1800000000
    sys.modules["ntptime"] = ntptime
    netmod, _ = network_with(Nic())
    eq(netmod.ntp_time("ntp.example"), 1800000000)     # the unix port's epoch is 1970
    eq((ntptime.host, ntptime.timeout), ("ntp.example", netmod.NTP_TIMEOUT_S))


def test_a_missing_rtc_leaves_an_untrusted_clock_not_a_dead_board():
    class Silent:
        def readfrom_mem_into(self, addr, reg, buf):
            raise OSError(5)     # EIO: nobody acknowledges address 0x68

        def writeto_mem(self, addr, reg, data):
            raise OSError(5)
    import boards.pico2.board as module
    module.I2C = lambda *a, **kw: Silent()
    try:
        board = fresh_board()
    finally:
        module.I2C = make_i2c
    eq(board.rtc_trusted(), False)
    assert board.rtc_time() >= 1704067200
    raises(OSError, board.set_time, 1800000000)
    board.ntp_sync(1800000000)          # logged, not raised
    eq(board.rtc_trusted(), False)
