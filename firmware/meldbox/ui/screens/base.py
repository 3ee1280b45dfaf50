"""What every screen has: a title, four button hints, a footer, and scrollable text."""
from meldbox.ui import chrome
from meldbox.ui import palette as P
from meldbox.ui.i18n import text
from meldbox.ui.layout import Doc

LINE_H = 19        # body font line pitch
TEXT_X = 6
TEXT_W = 300       # leaves room for the scroll bar


class Screen:
    title_key = None
    hints = (None, None, None, None)     # i18n keys of what A, B, X, Y do here
    watch = None                          # key of the notice this screen is about

    def __init__(self, panel):
        self.p = panel

    def t(self, key):
        return text(key, self.p.lang)

    def title(self):
        return self.t(self.title_key) if self.title_key else ""

    def footer(self):
        return ""

    def draw(self, c):
        """Draw the content area (cleared to the background first). Called once per
        canvas band, so it must only draw; c.hidden() tells what can be skipped."""

    def tick(self, now):
        """Once a second: repaint (self.p.paint) just what time changed."""

    def button(self, name, kind):
        """A button event on this screen."""

    def reloaded(self):
        """The notice list changed; return True when the screen must be redrawn."""
        return False


class DocScreen(Screen):
    """A screen whose content (or its lower part, from area_y) is text scrolled with A/B.
    The A and B hints show only while there is more text that way."""
    area_y = chrome.CONTENT_Y
    x_hint = None
    y_hint = "hint.back"

    @property
    def hints(self):
        d = self.doc()
        return ("hint.up" if self.first > 0 else None,
                "hint.down" if len(d) > self.first + self.visible() else None,
                self.x_hint, self.y_hint)

    def build(self):
        """Return the Doc to show."""
        raise NotImplementedError

    def doc(self):
        if getattr(self, "_doc", None) is None:
            self._doc = self.build()
            self.first = 0
        return self._doc

    def new_doc(self, c):
        return Doc(c.font("body"), TEXT_W)

    def visible(self):
        return (chrome.CONTENT_Y + chrome.CONTENT_H - self.area_y) // LINE_H

    def footer(self):
        d = self.doc()
        if len(d) > self.first + self.visible():
            return "\u25bc " + self.t("word.more")
        return ""

    def draw_doc(self, c):
        d = self.doc()
        y0 = self.area_y
        h = chrome.CONTENT_Y + chrome.CONTENT_H - y0
        c.rect(0, y0, chrome.W, h, P.BG)
        n = self.visible()
        d.draw(c, TEXT_X, y0 + 1, self.first, n, LINE_H)
        total = len(d)
        if total > n:                   # scroll bar on the right edge
            c.rect(chrome.W - 6, y0, 4, h, P.BAR)
            bar = max(8, h * n // total)
            top = y0 + (h - bar) * self.first // max(1, total - n)
            c.rect(chrome.W - 6, top, 4, bar, P.DIM)

    def scroll(self, name):
        """A: up, B: down, by a page less one line. True when the view moved."""
        n = self.visible()
        total = len(self.doc())
        step = max(1, n - 1)
        if name == "A":
            first = max(0, self.first - step)
        else:
            first = min(max(0, total - n), self.first + step)
        if first == self.first:
            return False
        self.first = first
        return True

    def redraw_doc(self):
        self.p.paint(0, self.area_y, chrome.W, chrome.CONTENT_Y + chrome.CONTENT_H - self.area_y,
                     self.draw_doc)
        self.p.redraw_hints()
