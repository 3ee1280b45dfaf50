"""The application as the panel sees it (the model interface of meldbox/ui/panel.py).

Notices are summaries kept on flash by the store; a view holds only what sorting and
countdowns need, the rest is read from flash when drawn, and the detail fields (items,
note, basis...) from the notice as received when the detail screen asks for them. Staff actions become receipts through the ledger, durable before `act`
returns the receipt's seq.

The panel's list order of the active notices is PanelIndex, compact in RAM: one
RECORD-byte record per active notice (8-byte key, deadline in unsigned seconds, seconds
left when paused or NOT_PAUSED while the countdown runs), kept in list order: running
notices by deadline (so overdue first), then paused ones (cannot comply) by the time they
had left; equal ones in the order they came. The buffer has room for MAX_ACTIVE records
from the start (reserved at boot, see meldbox/heap.py), so taking in a notice never needs
a new large block; the panel reads records as it draws instead of holding objects. It is
derived, never stored: the store (store/notices.py) puts and removes records as notices
join, pause and leave, and store/startup.py rebuilds it at boot.
"""  # noqa: E501
import struct

from meldbox import VERSION
from meldbox.core.trust import fingerprint
from meldbox.heap import take as take_buffer
from meldbox.store import flash, messages, notices, retention
from meldbox.store.messages import message_key

MAX_ACTIVE = 1000
FORMAT = "<8sIi"
RECORD = 16
NOT_PAUSED = -0x80000000
PAUSED_MAX = 0x7FFFFFFF     # 68 years either way: any real countdown
DEADLINE_MAX = 0xFFFFFFFF


class Item:
    __slots__ = ("url", "ip", "sha256")

    def __init__(self, claims):
        self.url = claims["url"]
        self.ip = claims.get("ip")
        self.sha256 = claims.get("sha256")


class NoticeView:
    """One notice as the panel sees it, made when needed from the store's index record
    (key, deadline, paused time): 1000 stored notices (MAX_ACTIVE) must fit the heap, so
    nothing per notice is held beyond that record. Everything else is read from the
    notice's summary on flash when drawn, and the detail fields (items, note, basis...)
    from the notice as received."""
    __slots__ = ("model", "key", "deadline", "paused_left")

    def __init__(self, model, key, deadline, paused_left):
        self.model = model
        self.key = key
        self.deadline = deadline
        self.paused_left = paused_left

    @property
    def paused(self):
        return self.paused_left is not None

    @property
    def state(self):
        return "cannot-comply" if self.paused_left is not None else self._s("state")

    def _s(self, field, default=None):
        return self.model.summary(self.key).get(field, default)

    iss = property(lambda self: self._s("iss"))
    id = property(lambda self: self._s("id"))
    ref = property(lambda self: self._s("ref"))
    cat = property(lambda self: self._s("cat"))
    host = property(lambda self: self._s("host"))
    iat = property(lambda self: self._s("iat"))
    received_at = property(lambda self: self._s("at"))
    test = property(lambda self: self._s("test", False))
    nodisclose = property(lambda self: self._s("nodisclose", False))
    preserve = property(lambda self: self._s("preserve"))
    within = property(lambda self: self._s("within"))

    # the detail screen's fields, from the notice as received
    @property
    def items(self):
        return [Item(i) for i in self.model.claims(self.key)["items"]]

    @property
    def basis(self):
        return self.model.claims(self.key).get("basis")

    @property
    def note(self):
        return self.model.claims(self.key).get("note")

    @property
    def contact(self):
        return self.model.claims(self.key).get("contact")

    @property
    def redress(self):
        return self.model.claims(self.key).get("redress")


class PanelIndex:
    """The active notices' list order (see above): the store calls put and remove."""
    capacity = MAX_ACTIVE

    def __init__(self):
        self.buf = take_buffer("panel.index", MAX_ACTIVE * RECORD)
        self.count = 0              # records in use

    def position(self, key):
        """Position of an active notice in list order, or -1."""
        buf = self.buf
        end = self.count * RECORD
        off = buf.find(key)
        while 0 <= off < end:
            if off % RECORD == 0:
                return off // RECORD
            off = buf.find(key, off + 1)
        return -1

    def entry(self, i):
        """(key, deadline, paused_left or None) of the i-th active notice in list order."""
        key, deadline, paused = struct.unpack_from(FORMAT, self.buf, i * RECORD)
        return key, deadline, (None if paused == NOT_PAUSED else paused)

    def put(self, key, deadline, paused_left=None):
        if self.position(key) >= 0:
            return
        if self.count >= MAX_ACTIVE:    # check_space refuses such a notice before commit
            return
        deadline = min(deadline, DEADLINE_MAX)
        if paused_left is None:
            order, paused_left = (0, deadline), NOT_PAUSED
        else:
            paused_left = max(-PAUSED_MAX, min(paused_left, PAUSED_MAX))
            order = (1, paused_left)
        buf = self.buf
        lo, hi = 0, self.count
        while lo < hi:                  # first record that sorts after the new one
            mid = (lo + hi) // 2
            _, dl, paused = struct.unpack_from(FORMAT, buf, mid * RECORD)
            if ((0, dl) if paused == NOT_PAUSED else (1, paused)) <= order:
                lo = mid + 1
            else:
                hi = mid
        view = memoryview(buf)
        off, end = lo * RECORD, self.count * RECORD
        view[off + RECORD:end + RECORD] = view[off:end]     # memmove
        struct.pack_into(FORMAT, buf, off, key, deadline, paused_left)
        self.count += 1

    def remove(self, key):
        i = self.position(key)
        if i >= 0:
            view = memoryview(self.buf)
            off, end = i * RECORD, self.count * RECORD
            view[off:end - RECORD] = view[off + RECORD:end]
            self.count -= 1


class ActiveNotices:
    """The active notices in list order (most urgent first, paused last), read from the
    PanelIndex: len(), [i] (a NoticeView made on demand) and position(key)."""

    def __init__(self, model):
        self.model = model
        self.index = model.index

    def __len__(self):
        return self.index.count

    def __getitem__(self, i):
        n = self.index.count
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError("notice index out of range")
        key, deadline, paused_left = self.index.entry(i)
        return NoticeView(self.model, key, deadline, paused_left)

    def position(self, key):
        return self.index.position(key)


class DeviceView:
    __slots__ = ("dev", "key_fpr", "version", "keys", "storage_used", "storage_total")


class StatusView:
    __slots__ = ("net", "hotline", "outbox", "flash_low")


class PanelModel:
    """What the panel shows and records, on the narrow part of the app it needs: `store`,
    `index` (PanelIndex), `ledger` (records staff receipts, tells of new ones), `clock`,
    `rejected`, the device's `public_key` and flash `mount`, and callables for what the
    app replaces at run time: `config()`, `trust()` (the TrustStore), `links()` ->
    (network up, hotline reached: True, False or None)."""

    def __init__(self, *, store, index, ledger, clock, rejected, public_key, mount, config,
                 trust, links):
        self.store = store
        self.index = index
        self.ledger = ledger
        self._clock = clock
        self._rejected = rejected
        self._public = public_key
        self._mount = mount
        self._config = config
        self._trust = trust
        self._links = links
        self._notices = None        # ActiveNotices, a new one after each receipt
        self._claims = (None, None)  # (key, claims) of the notice last opened
        self._summary = (None, None)  # (key, summary) of the notice last drawn
        self._outbox = None
        self._flash_seq = None    # seq when flash_low was last read
        self._flash_low = False
        ledger.listeners.append(self._changed)

    def _changed(self, seq=None, kind=None):
        self._notices = None
        self._outbox = None
        self._summary = (None, None)

    @property
    def lang(self):
        return self._config().get("lang", "en")

    @property
    def tz(self):
        return self._config().get("tz", "CET")

    def now(self):
        return self._clock.now()

    def clock(self):
        return self._clock.source()

    def view(self, key):
        """The notice `key` as the panel sees it (also a closed one), or None."""
        i = self.index.position(key)
        if i >= 0:
            return ActiveNotices(self)[i]
        s = notices.get(self.store, key)
        if s is None:
            return None
        return NoticeView(self, key, s["dl"], s.get("paused_left") if s["state"] == "cannot-comply" else None)  # noqa: E501

    def notices(self):
        """The same object until a receipt changes something (the panel's cue to reload)."""
        if self._notices is None:
            self._notices = ActiveNotices(self)
        return self._notices

    def summary(self, key):
        if self._summary[0] != key:
            self._summary = (key, notices.get(self.store, key) or {})
        return self._summary[1]

    def claims(self, key):
        if self._claims[0] != key:
            self._claims = (key, notices.claims(self.store, key) or {"items": []})
        return self._claims[1]

    def rejected(self):
        return self._rejected.entries

    def status(self):
        if self._outbox is None:
            self._outbox = self.store.outbox_len
        st = StatusView()
        st.net, st.hotline = self._links()
        st.outbox = self._outbox
        if self._flash_seq != self.store.seq:    # once per new receipt (a bound, store.py)
            self._flash_seq = self.store.seq
            self._flash_low = retention.flash_low(self.store)
        st.flash_low = self._flash_low
        return st

    def device(self):
        d = DeviceView()
        d.dev = self._config()["dev"]
        d.key_fpr = fingerprint(self._public)
        d.version = VERSION
        d.keys = [(k.iss, fingerprint(k.public), k.not_after, k.revoked) for k in self._trust()]
        d.storage_used, d.storage_total = flash.usage(self._mount)
        return d

    def _answer(self, key, kind, reason=None):
        s = notices.get(self.store, key)
        if s is None:
            raise KeyError("no such notice")
        nh = messages.message(self.store, s["iss"], s["id"])["nh"]
        seq, _ = self.ledger.record(kind, iss=s["iss"], nid=s["id"], nh=nh, reason=reason)
        return seq

    def seen(self, key):
        s = notices.get(self.store, key)
        if s is None or s["state"] != "new":
            return None
        return self._answer(key, "seen")

    def act(self, key, kind, reason=None):
        if kind not in ("removed", "not-ours", "disputed", "cannot-comply"):
            raise ValueError("unknown action %r" % kind)
        if (kind == "cannot-comply") != (reason is not None):
            raise ValueError("a reason goes with cannot-comply only")
        return self._answer(key, kind, reason)

    def message_event(self, msg):
        """(event, view) for the panel after a message was taken in, or None."""
        if msg.t == "notice":
            key = message_key(msg.iss, msg.id)
            if self.index.position(key) < 0:  # its withdraw came first: closed
                return None
            event = "replaced" if msg.replaces is not None else "new"
            return event, self.view(key)
        if msg.t == "withdraw":
            view = self.view(message_key(msg.iss, msg.ref))
            return ("withdrawn", view) if view is not None else None
        return None
