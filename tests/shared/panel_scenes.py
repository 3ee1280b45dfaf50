"""The panel's scenes, shared by the firmware UI tests and the review images: a fake
model (FakeModel, NoticeView, ...) the firmware's meldbox.ui draws from, a display that
keeps the frame (FrameDisplay), sample notices, and every screen and state as a named
scene. MicroPython code (it runs on the unix port): tests/firmware/mptest_ui_*.py import it
(tests/conftest.py puts this folder on MICROPYPATH), and tests/host/ui_render.py runs
mp_render() to make the PNGs of docs/panel/.
"""

# 2025-05-06 10:15:30 UTC (12:15:30 CEST), a Tuesday.
T0 = 1746526530
HOUR = 3600
DAY = 86400


# --- the model the panel reads (the application implements the real one) ---------------
class Item:
    def __init__(self, url, ip=None, sha256=None):
        self.url = url
        self.ip = ip
        self.sha256 = sha256


class NoticeView:
    def __init__(
        self,
        key,
        ref,
        deadline,
        cat="csam",
        iss="nl.eokm",
        basis="NL NTD-code",
        items=None,
        iat=None,
        received_at=None,
        state="new",
        paused_left=None,
        note=None,
        contact=None,
        redress=None,
        test=False,
        nodisclose=False,
        preserve=None,
        within=None,
    ):
        self.key = key
        self.iss = iss
        self.ref = ref
        self.cat = cat
        self.basis = basis
        self.note = note
        self.contact = contact
        self.redress = redress
        self.items = (
            items if items is not None else [Item("https://files.example.net/u/%s.jpg" % key)]
        )
        self.iat = iat if iat is not None else deadline - DAY
        self.received_at = received_at if received_at is not None else self.iat + 5
        self.deadline = deadline
        self.state = state
        self.paused_left = paused_left
        self.test = test
        self.nodisclose = nodisclose
        self.preserve = preserve
        self.within = within

    @property
    def paused(self):
        return self.state == "cannot-comply"


class Status:
    def __init__(self, net=True, hotline=True, outbox=0):
        self.net = net
        self.hotline = hotline
        self.outbox = outbox


class DeviceInfo:
    def __init__(self, keys=None):
        self.dev = "nl.hoster-a.desk-1"
        self.key_fpr = "7f3a 91c2 5be0 44d1 0a9e 6c3f 2d81 b7e4"
        self.version = "0.1.0"
        self.keys = keys if keys is not None else []
        self.storage_used = 301 * 1024
        self.storage_total = 2048 * 1024


class RejectedView:
    def __init__(self, at, iss, reason, detail):
        self.at = at
        self.iss = iss
        self.reason = reason
        self.detail = detail


class FakeModel:
    """The application as the panel sees it; records every call that changes state."""

    def __init__(
        self,
        notices=(),
        now=T0,
        lang="en",
        tz="CET",
        clock="rtc",
        status=None,
        device=None,
        rejected=(),
    ):
        self.t = now
        self._notices = list(notices)
        self._sorted_src = self._sorted = None
        self.lang = lang
        self.tz = tz
        self.clock_source = clock
        self._status = status or Status()
        self._device = device or DeviceInfo()
        self._rejected = list(rejected)
        self.calls = []  # ("seen", key) / ("act", key, kind, reason)
        self.seq = 41
        self.fail_act = None  # an exception act() raises instead of recording

    def now(self):
        return self.t

    def clock(self):
        return self.clock_source

    def notices(self):
        """In list order, as the model interface requires; the same list until a change."""
        if self._sorted_src is not self._notices:
            from meldbox.ui import urgency

            self._sorted = sorted(self._notices, key=urgency.order)
            self._sorted_src = self._notices
        return self._sorted

    def rejected(self):
        return self._rejected

    def status(self):
        return self._status

    def device(self):
        return self._device

    def _find(self, key):
        for v in self._notices:
            if v.key == key:
                return v
        raise KeyError(key)

    def seen(self, key):
        self.calls.append(("seen", key))
        v = self._find(key)
        if v.state != "new":
            return None
        v.state = "seen"
        self._notices = list(self._notices)  # a new list object: something changed
        self.seq += 1
        return self.seq

    def act(self, key, kind, reason=None):
        if self.fail_act is not None:
            raise self.fail_act
        v = self._find(key)
        self.calls.append(("act", key, kind, reason))
        if kind == "cannot-comply":
            v.state = "cannot-comply"
            v.paused_left = v.deadline - self.t
            self._notices = list(self._notices)
        else:
            self._notices = [n for n in self._notices if n.key != key]
        self.seq += 1
        return self.seq

    # test helpers: what the application would do on network events
    def add(self, view):
        self._notices = self._notices + [view]

    def drop(self, key):
        self._notices = [n for n in self._notices if n.key != key]


class FrameDisplay:
    """Keeps every pixel the panel pushed (big-endian RGB565) and counts the pushes."""

    def __init__(self, width=320, height=240, keep=True, record=False):
        self.width = width
        self.height = height
        self.frame = bytearray(width * height * 2) if keep else None
        self.pixels = 0  # pixels written since reset()
        self.rects = [] if record else None  # (x, y, w, h) of each write since reset()

    def write(self, x, y, w, h, data):
        if len(data) != w * h * 2:
            raise ValueError("write: %d bytes for %dx%d" % (len(data), w, h))
        self.pixels += w * h
        if self.rects is not None:
            self.rects.append((x, y, w, h))
        if self.frame is not None:
            stride = w * 2
            for r in range(h):
                o = ((y + r) * self.width + x) * 2
                self.frame[o : o + stride] = data[r * stride : (r + 1) * stride]

    def reset(self):
        self.pixels = 0
        if self.rects is not None:
            self.rects = []

    def rgb(self, x, y):
        """(r, g, b) of a pixel as 8-bit values (from RGB565)."""
        o = (y * self.width + x) * 2
        v = (self.frame[o] << 8) | self.frame[o + 1]
        return ((v >> 11) << 3, ((v >> 5) & 63) << 2, (v & 31) << 3)


# --- sample notices -------------------------------------------------------------------------
def sha(n):
    return bytes((n * 37 + i * 11) & 255 for i in range(32))


def sample_notices(t0=T0):
    return [
        NoticeView(
            b"n-amber",
            "EOKM-2025-0412",
            t0 + 3 * HOUR + 12 * 60 + 45,
            state="seen",
            items=[
                Item(
                    "https://img.hostedpics.example.nl/album/8812/IMG_20250501_221455.jpg",
                    "203.0.113.24",
                    sha(1),
                ),
                Item(
                    "https://img.hostedpics.example.nl/album/8812/index.html?view=grid&page=2",
                    "203.0.113.24",
                ),
            ],
            note="Afbeelding in een openbaar album; graag ook het account controleren.",
            contact="meldingen@eokm.example",
            redress="Bezwaar: bezwaar@eokm.example, 14 dagen",
        ),
        NoticeView(
            b"n-terror",
            "TCO-NL-2025-077",
            t0 + 40 * 60 + 5,
            cat="terror",
            iss="nl.atkm",
            basis="EU 2021/784 art. 3",
            received_at=t0 - 20 * 60,
            iat=t0 - 21 * 60,
            within=HOUR,
            nodisclose=True,
            preserve=t0 + 183 * DAY,
            items=[Item("https://video.example.com/watch?v=Zx81kQ", "198.51.100.7", sha(2))],
        ),
        NoticeView(
            b"n-over",
            "EOKM-2025-0398",
            t0 - 42 * 60 - 10,
            items=[Item("http://cdn3.example.org/a/b/c/clip.mp4", "192.0.2.80")],
        ),
        NoticeView(
            b"n-green",
            "MP-2025-1201",
            t0 + 2 * DAY + 3 * HOUR + 20 * 60,
            cat="other",
            iss="nl.meldpunt",
            basis="Wetboek van Strafrecht art. 54a",
            state="seen",
            items=[Item("https://shop.example.net/product/1234")],
        ),
        NoticeView(
            b"n-test",
            "DRILL-0007",
            t0 + 5 * HOUR + 3 * 60,
            test=True,
            items=[Item("https://drill.example.nl/test.jpg")],
        ),
        NoticeView(
            b"n-paused",
            "EOKM-2025-0377",
            t0 - 3 * HOUR,
            state="cannot-comply",
            paused_left=28 * 60 + 14,
            items=[Item("https://old.example.com/x")],
        ),
    ]


def many_notices(t0=T0, n=14):
    out = sample_notices(t0)
    for i in range(n - len(out)):
        out.append(
            NoticeView(
                b"m-%02d" % i,
                "EOKM-2025-%04d" % (500 + i),
                t0 + (6 + i * 7) * HOUR + i * 131,
                state="seen" if i % 3 else "new",
                items=[Item("https://host%d.example.net/p/%d" % (i, i * 17))],
            )
        )
    return out


def sample_keys(t0=T0):
    return [
        ("nl.eokm", "c41d 0b7e 9a22 51f3", None, False),
        ("nl.eokm", "18e2 ffa0 3c5d 7b19", t0 + 12 * DAY + 5 * HOUR, False),
        ("nl.atkm", "a0b1 c2d3 e4f5 0617", t0 + 400 * DAY, False),
        ("nl.meldpunt", "5555 0000 aaaa 1111", None, True),
    ]


def sample_rejected(t0=T0):
    return [
        RejectedView(t0 - 300, "nl.eokm", "bad-signature", "signature does not verify"),
        RejectedView(t0 - 4000, "nl.unknown", "unknown-key", "kid 8f21c0aa not trusted"),
        RejectedView(t0 - 9000, "nl.atkm", "wrong-device", "aud nl.hoster-b.desk-2"),
        RejectedView(t0 - 20000, None, "cbor-truncated", "input ends inside an item"),
    ]


# --- scenes (MicroPython side) ----------------------------------------------------------
def press(panel, *seq):
    """Press buttons in order: 'X' short, 'X+' held past a second."""
    for b in seq:
        panel.on_button(b[0], "long" if b.endswith("+") else "short")


def scenes():
    """(name, model factory, what to do with the panel)."""
    S = sample_notices
    K = sample_keys
    R = sample_rejected
    return [
        ("list-empty", lambda: FakeModel(), ()),
        ("list-one", lambda: FakeModel([S()[0]]), ()),
        ("list-several", lambda: FakeModel(S()), ()),
        ("list-many-scrolled", lambda: FakeModel(many_notices()), ("B", "B", "B", "B", "B")),
        (
            "list-untrusted-offline",
            lambda: FakeModel(S(), clock="untrusted", status=Status(False, False, 5)),
            (),
        ),
        (
            "list-hotline-clock",
            lambda: FakeModel(S(), clock="hotline", status=Status(True, None, 0)),
            (),
        ),
        ("list-utc", lambda: FakeModel(S(), tz="UTC"), ()),
        ("detail-overdue", lambda: FakeModel(S()), ("X",)),
        ("detail-within-banners", lambda: FakeModel(S()), ("B", "X")),
        ("detail-items", lambda: FakeModel(S()), ("B", "B", "X")),
        ("detail-items-scrolled", lambda: FakeModel(S()), ("B", "B", "X", "B")),
        ("detail-test", lambda: FakeModel(S()), ("B", "B", "B", "X")),
        ("detail-paused", lambda: FakeModel(S()), ("B", "B", "B", "B", "B", "X")),
        ("detail-untrusted", lambda: FakeModel(S(), clock="untrusted"), ("X",)),
        ("actions", lambda: FakeModel(S()), ("X", "X")),
        ("actions-banners", lambda: FakeModel(S()), ("B", "X", "X", "B")),
        ("reason", lambda: FakeModel(S()), ("X", "X", "B", "B", "B", "X")),
        ("confirm", lambda: FakeModel(S()), ("X", "X", "X")),
        (
            "confirm-cannot-comply",
            lambda: FakeModel(S()),
            ("B", "X", "X", "B", "B", "B", "X", "B", "X"),
        ),
        ("done", lambda: FakeModel(S()), ("X", "X", "X", "X+")),
        ("done-cannot-comply", lambda: FakeModel(S()), ("X", "X", "B", "B", "B", "X", "X", "X+")),
        ("failed", lambda: _failing(S()), ("X", "X", "X", "X+")),
        ("list-after-removed", lambda: FakeModel(S()), ("X", "X", "X", "X+", "X")),
        ("device", lambda: FakeModel(S(), device=DeviceInfo(K()), rejected=R()), ("Y",)),
        (
            "device-scrolled",
            lambda: FakeModel(S(), device=DeviceInfo(K()), rejected=R()),
            ("Y", "B"),
        ),
        ("device-no-keys", lambda: FakeModel(S()), ("Y",)),
        ("rejected", lambda: FakeModel(S(), device=DeviceInfo(K()), rejected=R()), ("Y", "X")),
        ("rejected-none", lambda: FakeModel(S()), ("Y", "X")),
        ("nl-list", lambda: FakeModel(S(), lang="nl"), ()),
        ("nl-list-empty", lambda: FakeModel(lang="nl"), ()),
        ("nl-detail", lambda: FakeModel(S(), lang="nl"), ("X",)),
        ("nl-detail-banners", lambda: FakeModel(S(), lang="nl"), ("B", "X")),
        ("nl-actions", lambda: FakeModel(S(), lang="nl"), ("X", "X")),
        ("nl-reason", lambda: FakeModel(S(), lang="nl"), ("X", "X", "B", "B", "B", "X")),
        ("nl-confirm", lambda: FakeModel(S(), lang="nl"), ("X", "X", "X")),
        ("nl-done", lambda: FakeModel(S(), lang="nl"), ("X", "X", "X", "X+")),
        (
            "nl-device",
            lambda: FakeModel(S(), lang="nl", device=DeviceInfo(K()), rejected=R()),
            ("Y",),
        ),
        ("nl-rejected", lambda: FakeModel(S(), lang="nl", rejected=R()), ("Y", "X")),
        (
            "nl-untrusted-offline",
            lambda: FakeModel(S(), lang="nl", clock="untrusted", status=Status(False, False, 3)),
            (),
        ),
    ]


def _failing(notices):
    m = FakeModel(notices)
    m.fail_act = OSError("store: flash write failed (ENOSPC)")
    return m


def event_scenes():
    """Scenes driven by application events rather than buttons."""

    def new_toast(model, panel):
        model.t += 1
        v = NoticeView(
            b"n-new",
            "EOKM-2025-0420",
            model.t + 24 * HOUR,
            items=[Item("https://new.example.nl/a.png")],
        )
        model.add(v)
        panel.notify("new", v)

    def withdrawn(model, panel):
        press(panel, "X")
        v = model._notices[2]  # the overdue one, open on screen
        model.drop(v.key)
        panel.notify("withdrawn", v)

    def crossing(model, panel):
        model.t += 2 * HOUR + 13 * 60 + 45  # the amber one crosses below an hour
        panel.tick()

    return [
        ("list-new-notice", lambda: FakeModel(sample_notices()), new_toast),
        ("list-withdrawn-while-open", lambda: FakeModel(sample_notices()), withdrawn),
        ("list-later", lambda: FakeModel(sample_notices()), crossing),
        (
            "confirm-short-press",
            lambda: FakeModel(sample_notices()),
            lambda m, p: press(p, "X", "X", "X", "X"),
        ),
    ]


def presser(buttons):
    """A scene action that presses `buttons` on the panel."""
    return lambda model, panel: press(panel, *buttons)


def mp_render(outdir):
    """MicroPython: draw each scene, write OUTDIR/<name>.rgb565 (big-endian)."""
    import gc

    from meldbox.ui.panel import TOAST_TICKS, Panel

    names = []
    todo = [(n, f, presser(b), True) for n, f, b in scenes()]
    todo += [(n, f, a, False) for n, f, a in event_scenes()]
    for name, make, action, fade in todo:
        model = make()
        display = FrameDisplay()
        panel = Panel(model, display)
        action(model, panel)
        if fade:  # let toasts go (the clock stands still), except where they are the point
            for _ in range(TOAST_TICKS):
                panel.tick()
        with open("%s/%s.rgb565" % (outdir, name), "wb") as f:
            f.write(display.frame)
        names.append(name)
        panel = display = model = None
        gc.collect()
    print("RENDERED", " ".join(names))
