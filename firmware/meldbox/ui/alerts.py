"""LED and buzzer: what staff hear and see from across the room.

Alerts, most important first: a notice became overdue; a notice crossed one hour left;
a new notice arrived. An alert blinks the LED in its colour and beeps (higher and more
often the more urgent) on every tick until any button is pressed. Without an alert the
LED shows, steadily and dimmed, the most urgent state of the list (off when empty).
Paused notices (cannot comply) never alert.
"""
from meldbox.ui import urgency

NONE = 0
NEW = 1
HOUR = 2
OVERDUE = 3

# alert -> (LED colour, buzzer Hz, tone ms, beep every n ticks)
PATTERNS = {
    NEW: ((0, 90, 255), 880, 120, 4),
    HOUR: ((255, 110, 0), 1320, 200, 2),
    OVERDUE: ((255, 0, 0), 1760, 350, 1),
}
# steady LED (dimmed) per most urgent level in the list
STEADY = {
    urgency.OVERDUE: (64, 0, 0),
    urgency.HOUR: (64, 24, 0),
    urgency.SOON: (48, 36, 0),
    urgency.CALM: (0, 24, 0),
    urgency.PAUSED: (0, 12, 40),
}


class Alerts:
    """Crossings are found from the clock, not from per-notice memory: a notice crossed
    into "under an hour" or "overdue" between two updates when its threshold lies in
    (last update, now]. The list comes in list order (running notices by deadline, paused
    ones last), so an update reads only the overdue notices, those under an hour and one
    more: nothing per notice is kept, whatever the number of notices."""

    def __init__(self, led=None, buzzer=None):
        self.led = led
        self.buzzer = buzzer
        self.active = NONE
        self.last = None        # device time of the last update (None: not yet, e.g. boot)
        self.phase = 0
        self.worst = None       # most urgent level in the list (None: empty)
        self.overdue = 0        # how many notices are overdue
        self._led = None

    def new_notice(self, view=None, now=None):
        """A notice arrived; one that is already under an hour or overdue alerts as such."""
        self._raise(NEW)
        if view is not None and now is not None:
            lvl, _ = urgency.of(view, now)
            if lvl == urgency.OVERDUE:
                self._raise(OVERDUE)
            elif lvl == urgency.HOUR:
                self._raise(HOUR)

    def silence(self):
        """Any button press: stop the alert (the LED goes back to steady)."""
        if self.active != NONE:
            self.active = NONE
            if self.buzzer is not None:
                self.buzzer.off()
        self._show_steady()

    def update(self, notices, now):
        """Look for notices that crossed into less than an hour left or overdue since the
        last call. At the first call (boot) every such notice counts as crossing: after a
        reboot, overdue work must be noticed. A clock set back crosses nothing."""
        last = self.last
        if last is not None and now < last:
            last = now
        self.last = now
        worst = None
        overdue = 0
        crossed = NONE
        hour = urgency.HOUR_S
        n = len(notices)
        for i in range(n):
            v = notices[i]
            if v.paused:                # paused ones come last and never alert
                if worst is None:
                    worst = urgency.PAUSED
                break
            deadline = v.deadline
            lvl = urgency.level(deadline - now)
            if worst is None:
                worst = lvl             # the first running notice is the most urgent
            if lvl == urgency.OVERDUE:
                overdue += 1
                if last is None or deadline > last:
                    crossed = OVERDUE
            elif lvl == urgency.HOUR:
                if (last is None or deadline - hour > last) and crossed < HOUR:
                    crossed = HOUR
            else:
                break                   # the rest are further away
        if crossed != NONE:
            self._raise(crossed)
        self.worst = worst
        self.overdue = overdue

    def tick(self):
        """Once a second: blink and beep while an alert is active."""
        if self.active == NONE:
            self._show_steady()
            return
        colour, hz, ms, every = PATTERNS[self.active]
        self.phase += 1
        self._set_led(colour if self.phase & 1 else (0, 0, 0))
        if self.buzzer is not None and self.phase % every == 1 % every:
            self.buzzer.tone(hz, ms)

    def _raise(self, kind):
        if kind > self.active:
            self.active = kind
            self.phase = 0
        self.tick()

    def _show_steady(self):
        self._set_led(STEADY[self.worst] if self.worst is not None else (0, 0, 0))

    def _set_led(self, rgb):
        if self.led is not None and rgb != self._led:
            self._led = rgb
            self.led.rgb(*rgb)
