"""Times for the panel: countdowns, clock and dates in the display time zone.

Pure integer arithmetic (no `time.gmtime`, whose epoch differs between ports), so the
same results come out on every board, in the simulator and on CPython.
Time zones: "UTC", or "CET" = Central European Time with EU summer time (CEST, UTC+2)
from the last Sunday of March 01:00 UTC to the last Sunday of October 01:00 UTC.
Countdowns round toward less time left: they never show more time than there is.
"""
from meldbox.core.civil import civil_from_days, days_from_civil

DAY = 86400


def civil(t):
    """POSIX seconds -> (year, month, day, hour, minute, second) in UTC."""
    days, secs = divmod(t, DAY)
    y, m, d = civil_from_days(days)
    return y, m, d, secs // 3600, secs // 60 % 60, secs % 60


def _last_sunday_1utc(y, m):
    """POSIX time of 01:00 UTC on the last Sunday of month m (March or October: 31 days)."""
    last = days_from_civil(y, m, 31)
    weekday = (last + 4) % 7      # 0 = Sunday (1970-01-01 was a Thursday)
    return (last - weekday) * DAY + 3600


def eu_summer(t):
    """True while EU summer time is in force at POSIX time t."""
    y = civil(t)[0]
    return _last_sunday_1utc(y, 3) <= t < _last_sunday_1utc(y, 10)


def zone(t, tz):
    """(offset seconds, abbreviation) of time zone `tz` at POSIX time t."""
    if tz == "CET":
        if eu_summer(t):
            return 7200, "CEST"
        return 3600, "CET"
    return 0, "UTC"


def clock(t, tz):
    """'14:05:33' local time."""
    off, _ = zone(t, tz)
    s = (t + off) % DAY
    return "%02d:%02d:%02d" % (s // 3600, s // 60 % 60, s % 60)


def date_time(t, tz, seconds=False):
    """'2024-05-02 13:05 CEST' local time (floored to the minute unless seconds)."""
    off, name = zone(t, tz)
    y, mo, d, h, mi, s = civil(t + off)
    if seconds:
        return "%04d-%02d-%02d %02d:%02d:%02d %s" % (y, mo, d, h, mi, s, name)
    return "%04d-%02d-%02d %02d:%02d %s" % (y, mo, d, h, mi, name)


def hms(secs):
    """'03:12:45' for 0 <= secs < one day."""
    return "%02d:%02d:%02d" % (secs // 3600, secs // 60 % 60, secs % 60)


def countdown(left, hour_unit="h"):
    """Time left as the panel shows it: '03:12:45' under a day, '2d 03h' from a day on
    (hour_unit 'u' in Dutch), '+00:42:10' counting up once overdue (left <= 0).
    Floors the time left (and, overdue, counts whole seconds past the deadline), so it
    never shows more time than is left."""
    if left > 0:
        sign, secs = "", left
    else:
        sign, secs = "+", -left
    if secs < DAY:
        return sign + hms(secs)
    return "%s%dd %02d%s" % (sign, secs // DAY, secs % DAY // 3600, hour_unit)


def duration(secs, lang_units):
    """A 'within' period: '1 h', '90 min', '2 d' (lang_units: (min, h, d) words)."""
    mins, hours, days = lang_units
    if secs % DAY == 0:
        return "%d %s" % (secs // DAY, days)
    if secs % 3600 == 0:
        return "%d %s" % (secs // 3600, hours)
    if secs % 60 == 0:
        return "%d %s" % (secs // 60, mins)
    return "%d s" % secs
