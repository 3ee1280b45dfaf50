"""DS3231 battery-backed real-time clock on I2C, kept in UTC.

Its oscillator-stop flag (OSF, status bit 7) is set whenever the oscillator stopped (no
battery, first power-up); the board trusts the clock only while the flag is clear, and
setting the time clears it. Calendar arithmetic is meldbox/core/civil.py's, not
time.mktime's, whose epoch differs between MicroPython ports.
"""
from meldbox.core.civil import civil_from_days, days_from_civil

ADDRESS = 0x68
REG_TIME = 0x00
REG_CONTROL = 0x0E
REG_STATUS = 0x0F
OSF = 0x80
EOSC_OFF = 0x80     # control bit 7: set means "oscillator stops on battery"
CENTURY = 0x80      # month register bit 7


def _bcd(b):
    return (b >> 4) * 10 + (b & 0x0F)


def _to_bcd(v):
    return ((v // 10) << 4) | (v % 10)


class DS3231:
    def __init__(self, i2c, address=ADDRESS):
        self.i2c = i2c
        self.address = address
        self.buf = bytearray(7)
        self.one = bytearray(1)
        control = self._read(REG_CONTROL)
        if control & EOSC_OFF:      # make sure the clock keeps running on its battery
            self._write(REG_CONTROL, control & ~EOSC_OFF)

    def _read(self, reg):
        self.i2c.readfrom_mem_into(self.address, reg, self.one)
        return self.one[0]

    def _write(self, reg, value):
        self.one[0] = value
        self.i2c.writeto_mem(self.address, reg, self.one)

    def stopped(self):
        """True when the oscillator stopped since the time was last set."""
        return bool(self._read(REG_STATUS) & OSF)

    def time(self):
        """POSIX seconds (UTC)."""
        b = self.buf
        self.i2c.readfrom_mem_into(self.address, REG_TIME, b)
        hour = b[2]
        if hour & 0x40:             # 12-hour mode (never set by us, but a clock may arrive so)
            hour = _bcd(hour & 0x1F) % 12 + (12 if hour & 0x20 else 0)
        else:
            hour = _bcd(hour & 0x3F)
        year = 2000 + _bcd(b[6]) + (100 if b[5] & CENTURY else 0)
        days = days_from_civil(year, _bcd(b[5] & 0x1F), _bcd(b[4] & 0x3F))
        return days * 86400 + hour * 3600 + _bcd(b[1] & 0x7F) * 60 + _bcd(b[0] & 0x7F)

    def set_time(self, seconds):
        """Set the clock to POSIX `seconds` (UTC) and clear the oscillator-stop flag."""
        days, rem = divmod(int(seconds), 86400)
        y, m, d = civil_from_days(days)
        if not 2000 <= y <= 2199:
            raise ValueError("the DS3231 keeps years 2000 to 2199, not %d" % y)
        b = self.buf
        b[0] = _to_bcd(rem % 60)
        b[1] = _to_bcd(rem // 60 % 60)
        b[2] = _to_bcd(rem // 3600)             # 24-hour mode
        b[3] = (days + 3) % 7 + 1               # 1 = Monday (1970-01-01 was a Thursday)
        b[4] = _to_bcd(d)
        b[5] = _to_bcd(m) | (CENTURY if y >= 2100 else 0)
        b[6] = _to_bcd(y % 100)
        self.i2c.writeto_mem(self.address, REG_TIME, b)
        self._write(REG_STATUS, self._read(REG_STATUS) & ~OSF)
