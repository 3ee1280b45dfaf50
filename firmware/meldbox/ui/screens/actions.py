"""Answering a notice: choose what was done (removed, not ours, disputed, cannot comply,
in that order, removed selected first), for cannot comply the reason, then confirm by
holding X for a second. Only then is model.act called; the receipt's seq is the proof.
A short X on the confirm screen, Y anywhere, or the notice leaving records nothing."""
from meldbox.ui import chrome
from meldbox.ui import palette as P
from meldbox.ui.chrome import first_host
from meldbox.ui.layout import Doc, ellipsize
from meldbox.ui.screens.base import TEXT_X, Screen

KINDS = ("removed", "not-ours", "disputed", "cannot-comply")
REASONS = ("force-majeure", "manifest-error", "missing-info")


def context_line(c, y, view):
    """'REF  host' under the banners, so staff see which notice they answer."""
    body = c.font("body")
    x = c.text(body, ellipsize(body, view.ref, 170), TEXT_X, y, P.FG) + 8
    host = first_host(view)
    if host:
        c.text(body, ellipsize(body, host, chrome.W - 6 - x), x, y, P.DIM)
    return y + 21


class ChoiceScreen(Screen):
    """A vertical menu under the notice's banners and context line."""
    hints = ("hint.up", "hint.down", "hint.choose", "hint.back")
    options = ()

    def __init__(self, panel, view, sel=0):
        Screen.__init__(self, panel)
        self.view = view
        self.watch = view.key
        self.sel = sel

    def label(self, opt):
        raise NotImplementedError

    def describe(self, opt):
        return None

    def draw(self, c):
        p = self.p
        y = chrome.draw_banners(c, chrome.CONTENT_Y, self.view, p.lang, p.tz) + 2
        y = context_line(c, y, self.view) + 2
        n = len(self.options)
        row = min(42, (chrome.CONTENT_Y + chrome.CONTENT_H - y) // n)
        body = c.font("body")
        small = c.font("small")
        for i, opt in enumerate(self.options):
            selected = i == self.sel
            ry = y + i * row
            if selected:
                c.rect(2, ry, chrome.W - 4, row - 2, P.SEL)
                c.frame(2, ry, chrome.W - 4, row - 2, P.FG)
                c.text(body, "\u25b6", 8, ry + (row - 2 - 19) // 2, P.FG)
            desc = self.describe(opt)
            if desc and row >= 38:
                c.text(body, self.label(opt), 28, ry + 1, P.FG)
                c.text(small, desc, 28, ry + 20, P.DIM if not selected else P.KEY)
            else:
                end = c.text(body, self.label(opt), 28, ry + (row - 2 - 19) // 2, P.FG)
                if desc:
                    right = chrome.W - 8
                    if small.width(desc) < right - end - 8:
                        c.text_right(small, desc, right, ry + (row - 2 - 16) // 2,
                                     P.DIM if not selected else P.KEY)

    def button(self, name, kind):
        if name == "A" or name == "B":
            sel = self.sel - 1 if name == "A" else self.sel + 1
            if 0 <= sel < len(self.options):
                self.sel = sel
                self.p.redraw_content()
        elif name == "X":
            self.choose(self.options[self.sel])
        elif name == "Y":
            self.back()

    def reloaded(self):
        v = self.p.find(self.watch)
        if v is not None:
            self.view = v
        return False


class ActionsScreen(ChoiceScreen):
    title_key = "title.actions"
    options = KINDS

    def label(self, opt):
        return self.t("act." + opt)

    def describe(self, opt):
        return self.t("actdesc." + opt)

    def choose(self, kind):
        p = self.p
        if kind == "cannot-comply":
            p.show("reason", self.view)
        else:
            p.show("confirm", self.view, kind, None)

    def back(self):
        self.p.show("detail", self.view)


class ReasonScreen(ChoiceScreen):
    title_key = "title.reason"
    options = REASONS

    def label(self, opt):
        return self.t("why." + opt)

    def choose(self, reason):
        self.p.show("confirm", self.view, "cannot-comply", reason)

    def back(self):
        self.p.show("actions", self.view, KINDS.index("cannot-comply"))


class ConfirmScreen(Screen):
    title_key = "title.confirm"
    hints = (None, None, "hint.hold", "hint.cancel")

    def __init__(self, panel, view, kind, reason):
        Screen.__init__(self, panel)
        self.view = view
        self.watch = view.key
        self.kind = kind
        self.reason = reason

    def what(self):
        s = self.t("act." + self.kind)
        if self.reason:
            s += ": " + self.t("why." + self.reason)
        return s

    def draw(self, c):
        p = self.p
        t = self.t
        body = c.font("body")
        small = c.font("small")
        y = chrome.draw_banners(c, chrome.CONTENT_Y, self.view, p.lang, p.tz) + 3
        c.text(small, t("confirm.record"), TEXT_X, y, P.DIM)
        y += 17
        c.rect(2, y, chrome.W - 4, 24, P.SEL)
        c.text(body, ellipsize(body, self.what(), chrome.W - 16), TEXT_X + 4, y + 2, P.FG)
        y += 27
        y = context_line(c, y, self.view) + 4
        d = Doc(body, chrome.W - 12)
        d.add(t("confirm.hold"))
        d.draw(c, TEXT_X, y, 0, 2, 20)
        y += 20 * min(2, len(d)) + 2
        d = Doc(small, chrome.W - 12)
        d.add(t("confirm.cancel"), P.DIM)
        d.add(t("confirm.signed") % self.view.iss, P.DIM)
        d.draw(c, TEXT_X, y, 0, (chrome.CONTENT_Y + chrome.CONTENT_H - y) // 17, 17)

    def button(self, name, kind):
        p = self.p
        if name == "X":
            if kind == "long":
                p.record(self.view, self.kind, self.reason)
            else:
                p.toast(self.t("confirm.short"), P.AMBER)
        elif name == "Y":
            if self.kind == "cannot-comply":
                p.show("reason", self.view, REASONS.index(self.reason))
            else:
                p.show("actions", self.view, KINDS.index(self.kind))

    def reloaded(self):
        v = self.p.find(self.watch)
        if v is not None:
            self.view = v
        return False


class DoneScreen(Screen):
    """The answer is durable: show the receipt number as proof. X or Y: the list."""
    title_key = "title.done"
    hints = (None, None, "hint.ok", "hint.list")

    def __init__(self, panel, view, kind, reason, seq):
        Screen.__init__(self, panel)
        self.view = view
        self.kind = kind
        self.reason = reason
        self.seq = seq

    def draw(self, c):
        t = self.t
        body = c.font("body")
        small = c.font("small")
        y = chrome.CONTENT_Y + 4
        cx = 30
        c.disc(cx, y + 20, 18, P.GREEN)
        for d in range(-2, 3):
            c.line(cx - 9, y + 20 + d, cx - 3, y + 26 + d, P.BG)
            c.line(cx - 3, y + 26 + d, cx + 10, y + 13 + d, P.BG)
        what = t("act." + self.kind)
        if self.reason:
            what += ": " + t("why." + self.reason)
        c.text(body, ellipsize(body, what, chrome.W - 60), 56, y + 1, P.GREEN)
        c.text(body, ellipsize(body, self.view.ref, chrome.W - 60), 56, y + 21, P.FG)
        y += 48
        x = c.text(body, t("done.receipt"), TEXT_X, y + 3, P.DIM) + 8
        c.text(c.font("big"), "#%d" % self.seq, x, y + 1, P.FG)
        y += 28
        lines = [t("done.stored"), t("done.sent")]
        if self.kind == "cannot-comply":
            lines.append(t("done.paused"))
        for s in lines:
            c.text(small, ellipsize(small, s, chrome.W - 12), TEXT_X, y, P.FG)
            y += 18

    def button(self, name, kind):
        if name in "XY":
            self.p.show("list")


class FailedScreen(Screen):
    """model.act raised: nothing is recorded, and the screen says so. X: try again."""
    title_key = "title.failed"
    hints = (None, None, "hint.retry", "hint.list")

    def __init__(self, panel, view, kind, reason, error):
        Screen.__init__(self, panel)
        self.view = view
        self.watch = view.key
        self.kind = kind
        self.reason = reason
        self.error = error

    def draw(self, c):
        body = c.font("body")
        y = chrome.CONTENT_Y + 4
        c.text(body, self.t("title.failed"), TEXT_X, y, P.RED)
        d = Doc(body, chrome.W - 12)
        d.add(self.t("failed.text"))
        d.add(self.error, P.DIM)
        d.draw(c, TEXT_X, y + 24, 0, 7, 19)

    def button(self, name, kind):
        p = self.p
        if name == "X":
            p.show("confirm", self.view, self.kind, self.reason)
        elif name == "Y":
            p.show("list")
