"""The list: active notices by deadline (overdue first, paused last), each row with its
urgency colour, countdown, category, the issuer's reference and the first item's host.
A up, B down, X opens the selected notice, Y the device screen."""
from meldbox.ui import chrome, countdown, urgency
from meldbox.ui import palette as P
from meldbox.ui.chrome import first_host
from meldbox.ui.layout import ellipsize
from meldbox.ui.screens.base import Screen

ROW_H = 45
ROWS = 4
CELL_X = 8
CELL_W = 236     # countdown cell; the category badge sits right of it


class ListScreen(Screen):
    def __init__(self, panel, select_key=None):
        Screen.__init__(self, panel)
        self.sel = 0
        self.top = 0
        self.key = None                 # the selected notice's key: selection follows it
        # Until staff move the selection away from the top, it stays on the most urgent
        # notice, also when a more urgent one arrives (X, X, X, hold X answers that one).
        self.moved = select_key is not None
        self.cells = [None] * ROWS      # (level, text) drawn in each visible row
        if select_key is not None:
            self._select_key(select_key)
        self._remember()

    def _select_key(self, key):
        i = self.p.position(key)
        if i >= 0:
            self.sel = i
        self._scroll_to_sel()

    def _remember(self):
        ns = self.p.notices
        self.key = ns[self.sel].key if 0 <= self.sel < len(ns) else None

    def _scroll_to_sel(self):
        n = len(self.p.notices)
        if self.sel >= n:
            self.sel = max(0, n - 1)
        if self.sel < self.top:
            self.top = self.sel
        elif self.sel >= self.top + ROWS:
            self.top = self.sel - ROWS + 1
        self.top = max(0, min(self.top, max(0, n - ROWS)))

    @property
    def hints(self):
        n = len(self.p.notices)
        return ("hint.up" if n > 1 else None, "hint.down" if n > 1 else None,
                "hint.open" if n else None, "hint.device")

    def title(self):
        n = len(self.p.notices)
        if not n:
            return self.t("title.list")
        over = self.p.alerts.overdue
        if over:
            return self.t("list.count_overdue") % (n, over)
        return self.t("list.count") % n

    def footer(self):
        n = len(self.p.notices)
        if n > ROWS:
            return self.t("list.pos") % (self.sel + 1, n)
        return ""

    def reloaded(self):
        """Keep the same notice selected (it may have moved); if it left, keep the row.
        An untouched selection stays on the most urgent notice."""
        if not self.moved:
            self.sel = self.top = 0
        elif self.key is not None and self.p.find(self.key) is not None:
            self._select_key(self.key)
        else:
            self._scroll_to_sel()
        self._remember()
        self.cells = [None] * ROWS
        return True

    @property
    def selected_key(self):
        return self.key

    # --- drawing ------------------------------------------------------------------------
    def draw(self, c):
        ns = self.p.notices
        if not ns:
            self._draw_empty(c)
            return
        for r in range(ROWS):
            i = self.top + r
            if i >= len(ns):
                break
            if not c.hidden(self._row_y(r), ROW_H):
                self._draw_row(c, r, ns[i], i == self.sel)

    def _draw_empty(self, c):
        cx, cy = chrome.W // 2, chrome.CONTENT_Y + 58
        c.disc(cx, cy, 34, P.GREEN)
        for d in range(-3, 4):        # a thick check mark
            c.line(cx - 17, cy + d, cx - 5, cy + 12 + d, P.BG)
            c.line(cx - 5, cy + 12 + d, cx + 18, cy - 13 + d, P.BG)
        body = c.font("body")
        c.text_centre(body, self.t("list.empty"), cx, cy + 48, P.FG)
        c.text_centre(c.font("small"), self.t("list.empty2"), cx, cy + 72, P.DIM)

    def _row_y(self, r):
        return chrome.CONTENT_Y + r * ROW_H

    def _draw_row(self, c, r, v, selected):
        y = self._row_y(r)
        p = self.p
        bg = P.SEL if selected else P.BG
        c.rect(0, y, chrome.W, ROW_H - 1, bg)
        c.hline(0, y + ROW_H - 1, chrome.W, P.MID)
        lvl, big, word = countdown.describe(v, p.now, p.approx, p.lang)
        c.rect(0, y, 6, ROW_H - 1, urgency.colour(lvl))
        countdown.draw(c, CELL_X, y + 1, CELL_W, bg, lvl, big, word)
        self.cells[r] = (lvl, big)
        chrome.badge(c, self.t("cat." + v.cat) if ("cat." + v.cat) in _CATS else v.cat.upper(),
                     chrome.W - 4, y + 4, P.MID)
        if selected:
            c.frame(0, y, chrome.W, ROW_H - 1, P.FG)
        x = 10
        if v.state == "new":
            x = chrome.badge_left(c, self.t("tag.new"), x, y + 25, P.BLUE, P.BLACK) + 4
        if v.test:
            x = chrome.badge_left(c, self.t("tag.test"), x, y + 25, P.PURPLE) + 4
        body = c.font("body")
        ref = ellipsize(body, v.ref, 180)
        x = c.text(body, ref, x, y + 24, P.FG) + 8
        host = first_host(v)
        if host:
            c.text(body, ellipsize(body, host, chrome.W - 6 - x), x, y + 24, P.DIM)

    def tick(self, now):
        ns = self.p.notices
        for r in range(ROWS):
            i = self.top + r
            if i >= len(ns):
                break
            self._tick_row(r, ns[i], i == self.sel, now)

    def _tick_row(self, r, v, sel, now):
        """Repaint what time changed in visible row r: its countdown digits, or the
        whole row when its urgency changed."""
        p = self.p
        lvl, big, word = countdown.describe(v, now, p.approx, p.lang)
        old = self.cells[r]
        if old is not None and old[0] == lvl and old[1] == big:
            return
        y = self._row_y(r)
        if old is None or old[0] != lvl:        # urgency changed: the whole row
            p.paint(0, y, chrome.W, ROW_H, lambda c: self._draw_row(c, r, v, sel))
            return
        bg = P.SEL if sel else P.BG
        w = countdown.time_width(p.canvas, lvl, big)
        if w == countdown.time_width(p.canvas, lvl, old[1]):    # same width: the digits
            p.paint(CELL_X, y + 1, w, countdown.CELL_H,
                    lambda c: countdown.redraw_time(c, CELL_X, y + 1, bg, lvl, big))
        else:
            p.paint(CELL_X, y + 1, CELL_W, countdown.CELL_H,
                    lambda c: countdown.draw(c, CELL_X, y + 1, CELL_W, bg, lvl, big, word))
        self.cells[r] = (lvl, big)

    # --- buttons ------------------------------------------------------------------------
    def button(self, name, kind):
        p = self.p
        n = len(p.notices)
        if name == "Y":
            p.show("device")
        elif not n:
            return
        elif name == "A" or name == "B":
            sel = self.sel - 1 if name == "A" else self.sel + 1
            if 0 <= sel < n:
                self.sel = sel
                self.moved = sel != 0
                self._scroll_to_sel()
                self._remember()
                p.redraw_content()
        elif name == "X":
            p.open_notice(p.notices[self.sel])


_CATS = ("cat.csam", "cat.terror", "cat.other")
