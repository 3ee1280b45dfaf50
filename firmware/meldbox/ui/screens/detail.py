"""One notice: countdown and due time on top, its banners, then every field and every
item's full URL, scrolled with A/B. X opens the actions, Y goes back to the list."""
from binascii import hexlify

from meldbox.ui import chrome, countdown, timefmt
from meldbox.ui import palette as P
from meldbox.ui.layout import HANG
from meldbox.ui.screens.base import DocScreen

HEAD_H = 44


class DetailScreen(DocScreen):
    x_hint = "hint.actions"

    def __init__(self, panel, view):
        DocScreen.__init__(self, panel)
        self.view = view
        self.watch = view.key
        self.cell = None
        self._layout()

    def _layout(self):
        n = len(chrome.banners(self.view, self.p.lang, self.p.tz))
        self.area_y = chrome.CONTENT_Y + HEAD_H + 1 + n * chrome.BANNER_H + 1

    def title(self):
        return self.view.ref

    def reloaded(self):
        v = self.p.find(self.watch)
        if v is not None and v is not self.view:
            self.view = v
            self._doc = None        # fields may have changed (state)
            self._layout()
            return True
        return False

    def build(self):
        p = self.p
        v = self.view
        t = self.t
        tz = p.tz
        d = self.new_doc(p.canvas)
        if p.approx:
            d.add(t("detail.approx"), P.AMBER)
        state = t("state." + v.state) if v.state in ("new", "seen", "cannot-comply") else v.state
        if v.state == "cannot-comply" and v.paused_left is not None:
            state += ", " + t("detail.paused") % timefmt.countdown(v.paused_left, t("unit.h"))
        d.add(state, P.BLUE if v.state == "cannot-comply" else P.FG, label=t("label.state"))
        # what to take down first, then the context
        d.add("", label=t("label.items") % len(v.items))
        for n, item in enumerate(v.items):
            d.add(item.url, P.FG, label="%d." % (n + 1), indent=HANG)
            if item.ip:
                d.add(item.ip, P.FG, label="   " + t("label.ip"), indent=22)
            if item.sha256:
                d.add(hexlify(item.sha256).decode(), P.DIM, label="   " + t("label.sha256"),
                      indent=22)
        if v.note:
            d.add(v.note, label=t("label.note"))
        d.add(v.iss, label=t("label.issuer"))
        d.add(v.ref, label=t("label.ref"))
        d.add(t("catlong." + v.cat) if v.cat in ("csam", "terror", "other") else v.cat,
              label=t("label.cat"))
        d.add(v.basis, label=t("label.basis"))
        d.add(timefmt.date_time(v.iat, tz), label=t("label.issued"))
        d.add(timefmt.date_time(v.received_at, tz, True), label=t("label.received"))
        due = timefmt.date_time(v.deadline, tz)
        if v.within is not None:
            due += ", " + t("detail.within") % timefmt.duration(v.within, t("unit.units").split())
        d.add(due, label=t("label.due"))
        if v.preserve is not None:
            d.add(timefmt.date_time(v.preserve, tz), label=t("label.preserve"))
        if v.contact:
            d.add(v.contact, label=t("label.contact"))
        if v.redress:
            d.add(v.redress, label=t("label.redress"))
        return d

    def draw(self, c):
        v = self.view
        p = self.p
        y = chrome.CONTENT_Y
        c.rect(0, y, chrome.W, HEAD_H, P.BAR)
        self._draw_cell(c, p.now)
        chrome.badge(c, self.t("cat." + v.cat) if v.cat in ("csam", "terror", "other") else v.cat,
                     chrome.W - 4, y + 4, P.MID)
        body = c.font("body")
        if v.state == "cannot-comply":
            c.text(body, self.t("detail.paused_head"), 10, y + 23, P.BLUE)
        else:
            x = c.text(body, self.t("label.due"), 10, y + 23, P.DIM) + 4
            c.text(body, timefmt.date_time(v.deadline, p.tz), x, y + 23, P.FG)
        chrome.draw_banners(c, y + HEAD_H + 1, v, p.lang, p.tz)
        self.draw_doc(c)

    def _draw_cell(self, c, now):
        lvl, big, word = countdown.describe(self.view, now, self.p.approx, self.p.lang)
        self.cell = (lvl, big)
        countdown.draw(c, 4, chrome.CONTENT_Y + 1, 236, P.BAR, lvl, big, word)

    def tick(self, now):
        p = self.p
        lvl, big, word = countdown.describe(self.view, now, p.approx, p.lang)
        old = self.cell
        if (lvl, big) == old:
            return
        y = chrome.CONTENT_Y + 1
        w = countdown.time_width(p.canvas, lvl, big)
        if lvl == old[0] and w == countdown.time_width(p.canvas, lvl, old[1]):
            p.paint(4, y, w, countdown.CELL_H,
                    lambda c: countdown.redraw_time(c, 4, y, P.BAR, lvl, big))
            self.cell = (lvl, big)
        else:
            p.paint(4, y, 236, countdown.CELL_H, lambda c: self._draw_cell(c, now))

    def button(self, name, kind):
        p = self.p
        if name == "A" or name == "B":
            if self.scroll(name):
                self.redraw_doc()
        elif name == "X":
            p.show("actions", self.view)
        elif name == "Y":
            p.show("list", self.view.key)
