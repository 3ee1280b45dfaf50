"""How urgent a notice is, from the seconds left until its deadline.

Thresholds: overdue at 0 s left or less (red); under 1 hour (orange: EU 2021/784 orders
run one hour from receipt, so such a notice is urgent from the start); under 4 hours
(amber: a working half-day); otherwise green. A paused countdown (cannot comply) is blue.
"""
from meldbox.ui import palette

PAUSED = -1
CALM = 0
SOON = 1
HOUR = 2
OVERDUE = 3

HOUR_S = 3600
SOON_S = 4 * 3600

_COLOUR = {PAUSED: palette.BLUE, CALM: palette.GREEN, SOON: palette.AMBER,
           HOUR: palette.ORANGE, OVERDUE: palette.RED}


def level(left, paused=False):
    """Urgency level for `left` seconds until the deadline (negative: overdue)."""
    if paused:
        return PAUSED
    if left <= 0:
        return OVERDUE
    if left < HOUR_S:
        return HOUR
    if left < SOON_S:
        return SOON
    return CALM


def colour(lvl):
    return _COLOUR[lvl]


def of(view, now):
    """(level, seconds left) of a NoticeView at device time `now`."""
    if view.paused:
        left = view.paused_left if view.paused_left is not None else view.deadline - now
        return PAUSED, left
    left = view.deadline - now
    return level(left), left


def order(view):
    """Where a notice sorts in the list: running countdowns first, earliest deadline (so
    overdue) on top; paused ones (cannot comply) last, by the time they had left."""
    if view.paused:
        return (1, view.paused_left if view.paused_left is not None else 0)
    return (0, view.deadline)
