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
    def __init__(self, led=None, buzzer=None):
        self.led = led
        self.buzzer = buzzer
        self.active = NONE
        self.levels = {}        # notice key -> last urgency level seen
        self.phase = 0
        self.worst = None       # most urgent level in the list (None: empty)
        self.overdue = 0        # how many notices are overdue
        self._led = None

    def new_notice(self):
        self._raise(NEW)

    def silence(self):
        """Any button press: stop the alert (the LED goes back to steady)."""
        if self.active != NONE:
            self.active = NONE
            if self.buzzer is not None:
                self.buzzer.off()
        self._show_steady()

    def update(self, notices, now):
        """Look for notices that crossed into less than an hour left or overdue since
        the last call (a notice first met in such a state alerts too: after a reboot,
        overdue work must be noticed)."""
        levels = self.levels
        worst = None
        seen = 0
        overdue = 0
        for v in notices:
            lvl, _ = urgency.of(v, now)
            if worst is None or lvl > worst:
                worst = lvl
            if lvl == urgency.OVERDUE:
                overdue += 1
            old = levels.get(v.key)
            if old != lvl:
                levels[v.key] = lvl
                if old is None or lvl > old:
                    if lvl == urgency.OVERDUE:
                        self._raise(OVERDUE)
                    elif lvl == urgency.HOUR:
                        self._raise(HOUR)
            seen += 1
        if len(levels) > seen:      # forget notices that left the list
            keep = {}
            for v in notices:
                keep[v.key] = levels[v.key]
            self.levels = keep
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
