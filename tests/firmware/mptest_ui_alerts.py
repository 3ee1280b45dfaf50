"""LED and buzzer: which events alert, how, and that any button silences them."""

from mptest import eq
from panel_scenes import HOUR, T0, NoticeView  # noqa

from meldbox.ui import alerts
from meldbox.ui.alerts import Alerts


class Led:
    def __init__(self):
        self.colour = None

    def rgb(self, r, g, b):
        self.colour = (r, g, b)


class Buzzer:
    def __init__(self):
        self.tones = []
        self.sounding = False

    def tone(self, hz, ms):
        self.tones.append(hz)
        self.sounding = True

    def off(self):
        self.sounding = False


def make(notices, now=T0):
    led, buzzer = Led(), Buzzer()
    a = Alerts(led, buzzer)
    a.update(notices, now)
    return a, led, buzzer


def calm(key=b"c", left=10 * HOUR):
    return NoticeView(key, "REF", T0 + left)


def test_quiet_list_shows_steady_green_and_no_sound():
    a, led, buzzer = make([calm()])
    a.tick()
    eq(a.active, alerts.NONE)
    eq(led.colour, alerts.STEADY[0])
    eq(buzzer.tones, [])


def test_empty_list_led_off():
    a, led, buzzer = make([])
    a.tick()
    eq(led.colour, (0, 0, 0))


def test_new_notice_blinks_and_beeps_until_silenced():
    a, led, buzzer = make([calm()])
    a.new_notice()
    eq(a.active, alerts.NEW)
    colours = set()
    for _ in range(8):
        a.tick()
        colours.add(led.colour)
    assert alerts.PATTERNS[alerts.NEW][0] in colours and (0, 0, 0) in colours   # blinking
    eq(set(buzzer.tones), {880})
    assert len(buzzer.tones) >= 2
    a.silence()
    eq(buzzer.sounding, False)
    n = len(buzzer.tones)
    for _ in range(8):
        a.tick()
    eq(len(buzzer.tones), n)
    eq(led.colour, alerts.STEADY[0])


def test_crossing_one_hour_left_alerts():
    v = calm(left=HOUR + 2)
    a, led, buzzer = make([v])
    eq(a.active, alerts.NONE)
    a.update([v], T0 + 1)
    eq(a.active, alerts.NONE)
    a.update([v], T0 + 3)           # 3599 s left
    eq(a.active, alerts.HOUR)
    eq(buzzer.tones[-1], 1320)


def test_becoming_overdue_alerts_and_outranks_new():
    v = calm(left=5)
    a, led, buzzer = make([v])
    a.new_notice()
    a.update([v], T0 + 5)
    eq(a.active, alerts.OVERDUE)
    eq(a.overdue, 1)
    a.new_notice()                  # a newer, lesser alert does not hide it
    eq(a.active, alerts.OVERDUE)
    a.tick()
    eq(buzzer.tones[-1], 1760)


def test_overdue_at_boot_alerts():
    a, led, buzzer = make([calm(b"o", left=-60)])
    eq(a.active, alerts.OVERDUE)


def test_paused_notices_never_alert():
    v = NoticeView(b"p", "REF", T0 - 3 * HOUR, state="cannot-comply", paused_left=600)
    a, led, buzzer = make([v])
    a.update([v], T0 + 10 * HOUR)
    eq(a.active, alerts.NONE)
    eq(a.overdue, 0)


def test_each_crossing_alerts_once():
    v = calm(left=5)
    a, led, buzzer = make([v])
    a.update([v], T0 + 5)
    eq(a.active, alerts.OVERDUE)
    a.silence()
    for t in range(6, 20):
        a.update([v], T0 + t)      # still overdue: no new crossing
    eq(a.active, alerts.NONE)
    eq(a.overdue, 1)


def test_a_new_notice_already_under_an_hour_alerts_as_such():
    a, led, buzzer = make([])
    v = calm(left=600)
    a.update([v], T0)
    a.new_notice(v, T0)
    eq(a.active, alerts.HOUR)


def test_many_notices_read_only_up_to_the_first_calm_one():
    class Counting:
        reads = 0

        def __init__(self, views):
            self.views = views

        def __len__(self):
            return len(self.views)

        def __getitem__(self, i):
            Counting.reads += 1
            return self.views[i]

    ns = Counting([calm(b"o", left=-5), calm(b"h", left=600)] + [calm(b"%d" % i, left=(10 + i) * HOUR) for i in range(60)])  # noqa: E501
    a, led, buzzer = make(ns)
    eq(a.worst, 3)
    eq(a.overdue, 1)
    assert Counting.reads <= 3, Counting.reads
