"""Countdown formatting, civil dates and EU summer time (meldbox/ui/timefmt.py)."""
from mptest import eq

from meldbox.ui import timefmt


def test_countdown_under_a_day_is_hh_mm_ss():
    eq(timefmt.countdown(1), "00:00:01")
    eq(timefmt.countdown(3 * 3600 + 12 * 60 + 45), "03:12:45")
    eq(timefmt.countdown(86399), "23:59:59")


def test_countdown_from_a_day_shows_days_and_floored_hours():
    eq(timefmt.countdown(86400), "1d 00h")
    eq(timefmt.countdown(2 * 86400 + 3 * 3600 + 3599), "2d 03h")   # never rounds up
    eq(timefmt.countdown(2 * 86400 + 3 * 3600 + 59, "u"), "2d 03u")


def test_countdown_overdue_counts_up_with_plus():
    eq(timefmt.countdown(0), "+00:00:00")      # due now is due: no time left
    eq(timefmt.countdown(-(42 * 60 + 10)), "+00:42:10")
    eq(timefmt.countdown(-(86400 + 3600)), "+1d 01h")


def test_countdown_never_shows_more_time_than_left():
    for left in (1, 59, 60, 61, 3599, 3600, 86399, 86400, 86401, 200000, 987654):
        s = timefmt.countdown(left)
        if "d" in s:
            d, h = s.split("d ")
            shown = int(d) * 86400 + int(h[:-1]) * 3600
        else:
            h, m, sec = s.split(":")
            shown = int(h) * 3600 + int(m) * 60 + int(sec)
        assert shown <= left, (left, s)
        assert left - shown < (3600 if "d" in s else 1), (left, s)


def test_civil_dates():
    eq(timefmt.civil(0), (1970, 1, 1, 0, 0, 0))
    eq(timefmt.civil(951782400), (2000, 2, 29, 0, 0, 0))          # leap day
    eq(timefmt.civil(1746526530), (2025, 5, 6, 10, 15, 30))
    eq(timefmt.civil(4107542399), (2100, 2, 28, 23, 59, 59))      # 2100 is no leap year
    eq(timefmt.days_from_civil(2024, 12, 31), 20088)


def test_eu_summer_time_switches_at_one_utc_on_last_sundays():
    # 2025: 30 March and 26 October; 2024: 31 March and 27 October
    start25 = timefmt.days_from_civil(2025, 3, 30) * 86400 + 3600
    end25 = timefmt.days_from_civil(2025, 10, 26) * 86400 + 3600
    eq(timefmt.zone(start25 - 1, "CET"), (3600, "CET"))
    eq(timefmt.zone(start25, "CET"), (7200, "CEST"))
    eq(timefmt.zone(end25 - 1, "CET"), (7200, "CEST"))
    eq(timefmt.zone(end25, "CET"), (3600, "CET"))
    start24 = timefmt.days_from_civil(2024, 3, 31) * 86400 + 3600
    eq(timefmt.zone(start24, "CET")[1], "CEST")
    eq(timefmt.zone(start24 - 1, "CET")[1], "CET")
    eq(timefmt.zone(start25, "UTC"), (0, "UTC"))


def test_local_clock_and_dates():
    t = 1746526530      # 2025-05-06 10:15:30 UTC, summer
    eq(timefmt.clock(t, "UTC"), "10:15:30")
    eq(timefmt.clock(t, "CET"), "12:15:30")
    eq(timefmt.date_time(t, "CET"), "2025-05-06 12:15 CEST")
    eq(timefmt.date_time(t, "CET", True), "2025-05-06 12:15:30 CEST")
    winter = 1736899199     # 2025-01-14 23:59:59 UTC -> next day in CET
    eq(timefmt.date_time(winter, "CET"), "2025-01-15 00:59 CET")
    eq(timefmt.date_time(winter, "UTC"), "2025-01-14 23:59 UTC")


def test_duration_of_within_deadlines():
    units = ("min", "h", "d")
    eq(timefmt.duration(3600, units), "1 h")
    eq(timefmt.duration(5400, units), "90 min")
    eq(timefmt.duration(2 * 86400, units), "2 d")
    eq(timefmt.duration(61, units), "61 s")
