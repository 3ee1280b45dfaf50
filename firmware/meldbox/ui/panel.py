"""The panel: which screen is showing, what the buttons do, and what to redraw.

The application calls:
    panel = Panel(model, display, led, buzzer)   draws the list (most urgent selected)
    panel.tick()                   once a second: countdowns, clock, status; toasts, alerts
    panel.notify(event, view)      "new" | "withdrawn" | "replaced" (redraws at once)
    panel.notify_soon(event, view) the same, done by run() at its next poll
    panel.on_button(name, kind)    from ui/buttons.py: "A".."Y", "short" | "long"
    panel.refresh()                redraw what changed now (any time; ages nothing)
    await panel.run(buttons, ticks_ms)   optional task doing the polling and ticking

A screen change repaints and pushes the whole screen once; a tick repaints only the
countdown digits and the clock digits that changed and pushes just those rectangles
(about 14,000 pixels with four rows on the list, instead of 76,800). Painting goes
through canvas bands (canvas.py), so no full frame buffer is held.

The model (the application) provides now(), clock(), notices(), rejected(), status(),
device(), seen(key), act(key, kind, reason=None) and the attributes lang and tz.
notices() returns the active notices in list order (urgency.order: running ones by
deadline, so overdue first, then paused ones), as a sequence of views: len() and [i],
and optionally position(key) (else the panel searches). It should be the same object while
nothing changed: the panel re-reads it only when the object (or its length) changes, or
after notify/seen/act. The panel holds no per-notice objects of its own, so that the
1000 notices the store may hold (MAX_ACTIVE) cost only what the model keeps for them.

Screens open each other by name through the panel (show("detail", view); the table is
navigation.py), so no screen imports another.
"""
import asyncio
import gc
import sys
from time import ticks_diff

from meldbox.ui import chrome
from meldbox.ui import palette as P
from meldbox.ui.alerts import Alerts
from meldbox.ui.canvas import Canvas
from meldbox.ui.i18n import text
from meldbox.ui.navigation import let_go, screen_class
from meldbox.ui.rgb565 import Converter

TOAST_TICKS = 4


NEWS_KEPT = 4       # notify_soon's news waiting for the panel's task
NEWS_MS = 250       # at most one redraw for news this often: a burst redraws a few times


class Panel:
    def __init__(self, model, display, led=None, buzzer=None):
        self.model = model
        self.display = display
        self.canvas = Canvas(display.width, display.height)
        self.converter = Converter(P.COLOURS)
        self.alerts = Alerts(led, buzzer)
        self.notices = []
        self._src = None
        self._src_len = -1
        self._toast = None          # (text, background)
        self._toast_left = 0
        self._status = None
        self._status_sig = None
        self._clock = None
        self._frame = ("", ("", None))   # (title, (footer, toast background or None))
        self._news = []             # notify_soon's (event, view), newest NEWS_KEPT
        self.pushed = 0             # pixels pushed since the last event began (tests, benchmarks)
        self.now = model.now()
        self._settings()
        self.reload(True)
        self.alerts.update(self.notices, self.now)
        self.screen = screen_class("list")(self)
        self.redraw()

    # --- model --------------------------------------------------------------------------
    def _settings(self):
        m = self.model
        self.lang = m.lang
        self.tz = m.tz
        self.src = m.clock()
        self.approx = chrome.approximate(self.src)

    def reload(self, force=False):
        """Re-read and sort the notices if they changed; True when they did."""
        src = self.model.notices()
        if not force and src is self._src and len(src) == self._src_len:
            return False
        self._src = src
        self._src_len = len(src)
        self.notices = src
        return True

    def position(self, key):
        """Where notice `key` is in the list, or -1."""
        ns = self.notices
        if hasattr(ns, "position"):
            return ns.position(key)
        for i in range(len(ns)):
            if ns[i].key == key:
                return i
        return -1

    def find(self, key):
        i = self.position(key)
        return self.notices[i] if i >= 0 else None

    def _after_reload(self, quiet=False):
        """The list changed: leave a screen whose notice is gone (saying so unless the
        caller already did); let the screen adapt. True when the screen was redrawn."""
        s = self.screen
        if s.watch is not None and self.find(s.watch) is None:
            if not quiet:
                self._set_toast(text("toast.closed", self.lang) % s.view.ref, P.MID)
            self.show("list")
            return True
        if s.reloaded():
            self.redraw()
            return True
        return False

    # --- drawing ------------------------------------------------------------------------
    def paint(self, x, y, w, h, painter):
        """Repaint screen rectangle (x, y, w, h): painter(canvas) draws in screen
        coordinates, once per band of the rectangle; each band is pushed as it is done."""
        if x < 0:
            w += x
            x = 0
        if y < 0:
            h += y
            y = 0
        w = min(w, chrome.W - x)
        end = min(y + h, chrome.H)
        if w <= 0:
            return
        c = self.canvas
        rows = c.rows_for(w)
        while y < end:
            n = rows if rows < end - y else end - y
            c.window(x, y, w, n)
            painter(c)
            self.pushed += self.converter.push(self.display, c.fb, x, y, w, n)
            y += n

    def go(self, screen):
        self.screen = screen
        self.redraw()
        if type(screen) is screen_class("list"):
            let_go()        # home again: the screens opened since go until next needed

    def show(self, name, *args):
        """Open screen `name` (navigation.SCREENS) with the screen's own arguments."""
        try:
            screen = screen_class(name)(self, *args)
        except MemoryError:
            # Importing a staff screen needs its module's objects in one go: after a full
            # collection once more: a press lost to garbage would leave staff's next
            # presses one screen behind what they see.
            gc.collect()
            screen = screen_class(name)(self, *args)
        self.go(screen)

    def redraw(self):
        """Repaint and push the whole screen (a screen change)."""
        self._status = self.model.status()
        self._status_sig = chrome.status_signature(self.now, self.tz, self.src, self._status,
                                                   self.lang)
        self._clock = self.now
        self._frame = (self.screen.title(), self._footer())
        self.paint(0, 0, chrome.W, chrome.H, self._paint_all)

    def _paint_all(self, c):
        c.fill(P.BG)
        if not c.hidden(0, chrome.STATUS_H):
            self._paint_status(c)
        if not c.hidden(chrome.CONTENT_Y, chrome.CONTENT_H):
            self.screen.draw(c)
        if not c.hidden(chrome.TOP_Y, chrome.ROW_H):
            self._paint_top(c)
        if not c.hidden(chrome.BOTTOM_Y, chrome.ROW_H):
            self._paint_bottom(c)

    def _paint_status(self, c):
        chrome.draw_status(c, self.now, self.tz, self.src, self._status, self.lang)

    def _paint_clock(self, c):
        chrome.draw_clock(c, self.now, self.tz, self.src)

    def _paint_content(self, c):
        c.fill(P.BG)
        self.screen.draw(c)

    def _paint_top(self, c):
        a, b, x, y = self.screen.hints
        t0, t1 = chrome.draw_hint_row(c, chrome.TOP_Y, "A", a, "X", x, self.lang)
        chrome.draw_centre(c, chrome.TOP_Y, t0, t1, self._frame[0], P.DIM)

    def _paint_bottom(self, c):
        a, b, x, y = self.screen.hints
        b0, b1 = chrome.draw_hint_row(c, chrome.BOTTOM_Y, "B", b, "Y", y, self.lang)
        s, bg = self._frame[1]
        if bg is None:
            chrome.draw_centre(c, chrome.BOTTOM_Y, b0, b1, s, P.DIM)
        else:       # a toast takes the row between the B and Y letter boxes
            fg = P.BLACK if bg in (P.AMBER, P.BLUE, P.KEY, P.GREEN) else P.FG
            chrome.draw_centre(c, chrome.BOTTOM_Y, chrome.TOAST_X0, chrome.W - chrome.TOAST_X0,
                               s, fg, bg)

    def redraw_content(self):
        """The screen's content changed (selection, scrolling): repaint and push it."""
        self.paint(0, chrome.CONTENT_Y, chrome.W, chrome.CONTENT_H, self._paint_content)
        self.update_frame()

    def redraw_hints(self):
        """The screen's button meanings changed (e.g. scrolled to the end)."""
        self._frame = (self.screen.title(), self._footer())
        self.paint(0, chrome.TOP_Y, chrome.W, chrome.ROW_H, self._paint_top)
        self.paint(0, chrome.BOTTOM_Y, chrome.W, chrome.ROW_H, self._paint_bottom)

    def _footer(self):
        return self._toast if self._toast else (self.screen.footer(), None)

    def update_frame(self):
        """Repaint the title or the footer (or toast) row when its text changed."""
        title = self.screen.title()
        footer = self._footer()
        old = self._frame
        self._frame = (title, footer)
        if old[0] != title:
            self.paint(0, chrome.TOP_Y, chrome.W, chrome.ROW_H, self._paint_top)
        if old[1] != footer:
            self.paint(0, chrome.BOTTOM_Y, chrome.W, chrome.ROW_H, self._paint_bottom)

    def _update_status(self):
        status = self.model.status()
        sig = chrome.status_signature(self.now, self.tz, self.src, status, self.lang)
        if sig != self._status_sig:
            self._status = status
            self._status_sig = sig
            self._clock = self.now
            self.paint(0, 0, chrome.W, chrome.STATUS_H, self._paint_status)
        elif self.now != self._clock:
            self._clock = self.now
            self.paint(0, 0, chrome.CLOCK_W, chrome.STATUS_H, self._paint_clock)

    def toast(self, s, bg=P.BLUE):
        """A short message in the footer row for a few seconds."""
        self._set_toast(s, bg)
        self.update_frame()

    def _set_toast(self, s, bg):
        self._toast = (s, bg)
        self._toast_left = TOAST_TICKS

    # --- events -------------------------------------------------------------------------
    def tick(self):
        """Once a second: countdowns, clock and status; toasts age, alerts blink and beep."""
        return self._update(True)

    def refresh(self):
        """Redraw what changed now (e.g. after the clock was moved) without ageing toasts
        or sounding alerts: safe to call as often as wanted."""
        return self._update(False)

    def _update(self, second):
        if self._news:
            self._take_news()
        self.pushed = 0
        m = self.model
        self.now = m.now()
        if m.lang != self.lang or m.tz != self.tz or m.clock() != self.src:
            self._settings()
            self.reload(True)
            self.alerts.update(self.notices, self.now)
            if not self._after_reload(True):
                self.redraw()
        elif self.reload():
            self.alerts.update(self.notices, self.now)
            self._after_reload()
        else:
            self.alerts.update(self.notices, self.now)
        self._update_status()
        self.screen.tick(self.now)
        if self._toast and second:
            self._toast_left -= 1
            if self._toast_left <= 0:
                self._toast = None
        self.update_frame()
        if second:
            self.alerts.tick()
        return self.pushed

    def notify(self, event, view):
        """The application's news: a notice arrived ("new"), was withdrawn, or replaced."""
        self.pushed = 0
        self._hear(event, view)
        if not self._after_reload(quiet=True):
            self.redraw()       # titles, rows and counts changed under every screen

    def notify_soon(self, event, view):
        """notify(), done by run() at its next poll: taking in a message then never waits
        for a full redraw (20 ms on the simulator), and a burst of news redraws once."""
        news = self._news
        if len(news) >= NEWS_KEPT:      # only the oldest toasts are lost; the list is read anew
            news.pop(0)
        news.append((event, view))

    def _take_news(self):
        news = self._news
        self.pushed = 0
        while news:
            self._hear(*news.pop(0))
        if not self._after_reload(quiet=True):
            self.redraw()

    def _hear(self, event, view):
        self.now = self.model.now()
        self.reload(True)
        ref = view.ref if view is not None else ""
        if event == "new":
            self.alerts.new_notice(view, self.now)
            self._set_toast(text("toast.new", self.lang) % ref, P.BLUE)
        elif event == "withdrawn":
            self._set_toast(text("toast.withdrawn", self.lang) % ref, P.MID)
        elif event == "replaced":
            self.alerts.new_notice(view, self.now)
            self._set_toast(text("toast.replaced", self.lang) % ref, P.BLUE)
        self.alerts.update(self.notices, self.now)

    def on_button(self, name, kind):
        self.pushed = 0
        self.alerts.silence()   # any press silences, and still does its job
        self.now = self.model.now()
        self.screen.button(name, kind)

    # --- actions on notices (called by screens) -------------------------------------------
    def open_notice(self, view):
        """Show a notice; the first opening records a `seen` receipt."""
        try:
            seq = self.model.seen(view.key)
        except Exception:       # the receipt could not be stored: still show the notice
            seq = None
        self.reload(True)
        view = self.find(view.key) or view
        if seq is not None:
            self._set_toast(text("toast.seen", self.lang) % seq, P.MID)
        self.show("detail", view)

    def record(self, view, kind, reason):
        """Staff confirmed: record the answer, then show the durable receipt's seq."""
        self.reload()
        if self.find(view.key) is None:     # closed meanwhile: nothing to answer
            self.show("list")
            return
        try:
            if reason is None:
                seq = self.model.act(view.key, kind)
            else:
                seq = self.model.act(view.key, kind, reason)
        except Exception as e:
            self.show("failed", view, kind, reason, str(e) or e.__class__.__name__)
            return
        self.reload(True)
        self.alerts.update(self.notices, self.now)
        self.show("done", view, kind, reason, seq)

    # --- provisioning: new trust anchors need a person's yes ---------------------------
    def confirm_keys(self, keys, on_done):
        """Show the issuer keys provisioning wants to add; on_done(True) after A,
        on_done(False) after B (exactly once)."""
        self.pushed = 0
        self.alerts.new_notice()        # draw attention: someone is changing the trust
        self.show("trust", keys, on_done, self.screen)

    def cancel_confirm(self):
        """Provisioning gave up waiting: leave the question without an answer."""
        if isinstance(self.screen, screen_class("trust")):
            self.screen.on_done = None
            self.go(self.screen.back)

    async def run(self, buttons, ticks_ms, poll_ms=20):
        """Poll the buttons every poll_ms and tick whenever the device second changes."""
        last = self.now
        news_at = ticks_ms()
        while True:
            try:
                if self._news and ticks_diff(ticks_ms(), news_at) >= NEWS_MS:
                    news_at = ticks_ms()
                    self._take_news()
                for name, kind in buttons.poll(ticks_ms()):
                    self.on_button(name, kind)
                if self.model.now() != last:
                    last = self.model.now()
                    self.tick()
            except Exception as e:      # out of memory mid-draw: the next tick repaints
                sys.print_exception(e, sys.stderr)
                self._status = None
            await asyncio.sleep_ms(poll_ms)
