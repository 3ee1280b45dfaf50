"""What frames every screen: the status bar, the button hints next to the four
buttons, the title and footer lines between them, banners and toasts.

Screen geometry (320 x 240):
    y   0..17   status bar: clock and its trust | network, hotline, outbox
    y  18..37   hint A (left) | title | hint X (right)      (A and X sit at the top)
    y  38..219  the screen's content
    y 220..239  hint B (left) | footer / toast | hint Y (right)
"""
from meldbox.core.url import host_of
from meldbox.ui import palette as P
from meldbox.ui import timefmt
from meldbox.ui.i18n import text
from meldbox.ui.layout import ellipsize

W = 320             # the panel's size: every layout here is drawn for it, and the
H = 240             # application asks the board for a display of this size
STATUS_H = 18
TOP_Y = 18
ROW_H = 20
CONTENT_Y = 38
CONTENT_H = 182
BOTTOM_Y = 220
CLOCK_W = 64         # the clock digits' cell, redrawn every second
BANNER_H = 17
BOX_W = 14
TOAST_X0 = 2 + BOX_W + 3    # a toast spans the bottom row between the B and Y boxes

TRUSTED = ("rtc", "ntp")


def approximate(clock_source):
    """Countdowns rest on a clock nobody vouched for (hotline lower bound or untrusted)."""
    return clock_source not in TRUSTED


# --- status bar ------------------------------------------------------------------------
def clock_colour(src):
    if src in TRUSTED:
        return P.FG
    return P.AMBER if src == "hotline" else P.RED


def draw_clock(c, now, tz, src):
    small = c.font("small")
    c.rect(0, 0, CLOCK_W, STATUS_H, P.BAR)
    c.text(small, timefmt.clock(now, tz), 3, 1, clock_colour(src))


def draw_status(c, now, tz, src, status, lang):
    """The whole status bar. The right side (network, hotline, outbox) is drawn first;
    the clock's trust word gets what room is left."""
    small = c.font("small")
    c.rect(0, 0, W, STATUS_H, P.BAR)
    right = W - 3
    outbox = status.outbox if status is not None else 0
    right = c.text_right(small, text("outbox", lang) % outbox, right, 1,
                         P.AMBER if outbox else P.DIM) - 8
    if getattr(status, "flash_low", False):    # said before notices must be refused
        right = c.text_right(small, text("flash.low", lang), right, 1, P.RED) - 8
    hotline = status.hotline if status is not None else None
    if hotline is None:
        mark, colour = "?", P.DIM
    elif hotline:
        mark, colour = "\u2713", P.GREEN
    else:
        mark, colour = "\u2717", P.RED
    right = c.text_right(small, text("hotline.name", lang) + " " + mark, right, 1, colour) - 8
    net = status.net if status is not None else False
    right = c.text_right(small, text("net.up", lang) + (" \u2713" if net else " \u2717"),
                         right, 1, P.GREEN if net else P.RED) - 8
    draw_clock(c, now, tz, src)
    x = c.text(small, timefmt.zone(now, tz)[1], CLOCK_W, 1, P.DIM) + 6
    key = "clock." + src if src in ("rtc", "ntp", "hotline") else "clock.untrusted"
    c.text(small, ellipsize(small, text(key, lang), right - x), x, 1,
           P.GREEN if src in TRUSTED else clock_colour(src))


def status_signature(now, tz, src, status, lang):
    """What the status bar shows apart from the running clock digits."""
    if status is None:
        return (timefmt.zone(now, tz)[1], src, lang)
    return (timefmt.zone(now, tz)[1], src, lang, status.net, status.hotline, status.outbox,
            getattr(status, "flash_low", False))


# --- hint rows -------------------------------------------------------------------------
def _box(c, x, y, letter):
    small = c.font("small")
    c.rect(x, y, BOX_W, 16, P.KEY)
    c.text_centre(small, letter, x + BOX_W // 2, y, P.BLACK)


def draw_hint_row(c, y, left_letter, left_key, right_letter, right_key, lang):
    """One hint row; returns (x where the centre starts, x where it ends)."""
    small = c.font("small")
    c.rect(0, y, W, ROW_H, P.BG)
    x0, x1 = 4, W - 4
    if left_key:
        _box(c, 2, y + 2, left_letter)
        x0 = c.text(small, text(left_key, lang), 2 + BOX_W + 4, y + 2, P.FG) + 8
    if right_key:
        _box(c, W - 2 - BOX_W, y + 2, right_letter)
        x1 = c.text_right(small, text(right_key, lang), W - 2 - BOX_W - 4, y + 2, P.FG) - 8
    return x0, x1


def draw_centre(c, y, x0, x1, s, colour, bg=P.BG):
    """Centre text in a hint row between x0 and x1 (shortened to fit)."""
    small = c.font("small")
    c.rect(x0, y, x1 - x0, ROW_H, bg)
    if s:
        s = ellipsize(small, s, x1 - x0 - 4)
        c.text_centre(small, s, (x0 + x1) // 2, y + 2, colour)


# --- banners and badges ------------------------------------------------------------------
def banners(view, lang, tz):
    """(text, background) of each banner a notice needs, most important first."""
    out = []
    if view.nodisclose:
        out.append((text("banner.nodisclose", lang), P.DARKRED))
    if view.test:
        out.append((text("banner.test", lang), P.PURPLE))
    if view.preserve is not None:
        out.append((text("banner.preserve", lang) % timefmt.date_time(view.preserve, tz)[:10], P.NAVY))  # noqa: E501
    return out


def first_host(view):
    """The first item's host: the summary's `host` when the application keeps one (so the
    list needs no item read from flash), else from the items."""
    host = getattr(view, "host", None)
    if host is None and view.items:
        host = host_of(view.items[0].url)
    return host


def draw_banners(c, y, view, lang, tz):
    """Draw the notice's banners full width from y; returns the y below them."""
    small = c.font("small")
    for s, bg in banners(view, lang, tz):
        c.rect(0, y, W, BANNER_H - 1, bg)
        c.text(small, s, 6, y, P.FG)
        y += BANNER_H
    return y


def badge(c, s, right, y, bg, fg=P.FG):
    """A small filled label ending at x = right; returns its left x."""
    small = c.font("small")
    w = small.width(s) + 8
    c.rect(right - w, y, w, 16, bg)
    c.text(small, s, right - w + 4, y, fg)
    return right - w


def badge_left(c, s, x, y, bg, fg=P.FG):
    """A small filled label starting at x; returns the x after it."""
    small = c.font("small")
    w = small.width(s) + 8
    c.rect(x, y, w, 16, bg)
    c.text(small, s, x + 4, y, fg)
    return x + w
