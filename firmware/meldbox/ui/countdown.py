"""The countdown cell shared by the list and the detail screen: the time left (or past
the deadline) in the big font in its urgency colour, and a word saying which it is.
Digits have equal widths, so a tick usually repaints only the digits (redraw_time)."""
from meldbox.ui import palette as P
from meldbox.ui import timefmt, urgency
from meldbox.ui.i18n import text

PAUSE_W = 19     # the pause sign drawn before a paused countdown
CELL_H = 22


def describe(view, now, approx, lang):
    """(level, big text, word) for a notice at device time now."""
    lvl, left = urgency.of(view, now)
    s = timefmt.countdown(left, text("unit.h", lang))
    if lvl == urgency.PAUSED:
        word = text("word.paused", lang)
    elif lvl == urgency.OVERDUE:
        word = text("word.overdue", lang)
    else:
        word = text("word.left", lang)
    if approx and lvl != urgency.PAUSED:
        s = "~" + s     # the detail screen spells out why
    return lvl, s, word


def time_width(c, lvl, big_text):
    """Pixels from the cell's left edge to the end of the time (the word follows)."""
    return 4 + (PAUSE_W if lvl == urgency.PAUSED else 0) + c.font("big").width(big_text)


def draw(c, x, y, w, bg, lvl, big_text, word):
    """Paint the whole cell (x, y, w, CELL_H) on background bg."""
    c.rect(x, y, w, CELL_H, bg)
    end = redraw_time(c, x, y, bg, lvl, big_text)
    c.text(c.font("small"), word, end + 6, y + 5, urgency.colour(lvl) if lvl >= urgency.HOUR else P.DIM)  # noqa: E501


def redraw_time(c, x, y, bg, lvl, big_text):
    """Repaint just the time part of the cell; returns the x where it ends."""
    colour = urgency.colour(lvl)
    tx = x + 4
    c.rect(x, y, time_width(c, lvl, big_text), CELL_H, bg)
    if lvl == urgency.PAUSED:
        c.rect(tx, y + 2, 4, 17, colour)
        c.rect(tx + 7, y + 2, 4, 17, colour)
        tx += PAUSE_W
    return c.text(c.font("big"), big_text, tx, y + 1, colour)
