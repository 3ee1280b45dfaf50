"""The device's durable state on littlefs: a write-ahead receipt log and what derives from it.

Layout under `root`:
  key                 the device's Ed25519 seed (made on the device at first boot)
  config              provisioning (CBOR map)
  log/N               receipts 32N+1 .. 32N+32, each a record appended to the segment:
                      seq, length (u32 LE each), {"r": receipt COSE, "m": message COSE?}
  head                [seq, chain hash] of the last record applied to the files below
  m/KEY               every message taken in: {"t", "nh", "seq"} (idempotency, 4.09)
  n/KEY               active notices (summary for the panel; see Store.apply)
  c/KEY               closed notices (removed, withdrawn, replaced, ...)
  o/IH/SEQ            outbox: receipts not yet acknowledged by their issuer, a folder per
                      issuer (IH: 4 bytes of SHA-256 of its name, in hex), so delivery
                      finds an issuer's oldest receipt from the names alone
  pruned              [pseq, done] of the newest checkpoint: log segments up to pseq and
                      the files derived from them are pruned (store/retention.py)

The log record is the commit point: it is appended to its segment and the file closed,
which littlefs makes atomic (copy-on-write: new content counts only once the file's
metadata commit is written). Segments share flash blocks between records; a file per
receipt would take a whole 4 KiB block each. Everything else is derived by `apply`, which is
idempotent and re-run at boot for records newer than `head` (a power cut between the
commit and the end of apply loses nothing). Nothing is acknowledged before the commit.

Boot never stops on one bad record: a record whose apply raises is quarantined (counted in
`quarantined`, its seq in the file `quarantine`, the chain head moved past it, its receipt
still queued for its issuer), and bytes after the last whole record of the current segment
(an append that failed half-way) are cut off (`torn_tail`) before anything is appended.
"""
import os
import struct
from hashlib import sha256
from binascii import hexlify

from meldbox.core import cbor
from meldbox.core.errors import StoreFull
from meldbox.core.url import host_of
from meldbox.heap import take as take_buffer

ZERO_HASH = bytes(32)
# Refuse new notices (5.03) when less than this many bytes are free: closing notices
# and delivering receipts must still have room to be written.
RESERVE_BYTES = 64 * 1024
# Below this, nothing at all is written (a receipt with an 8 KiB message, its derived files
# and littlefs's copy-on-write of the metadata they touch fit well within it).
MIN_FREE_BYTES = 32 * 1024
# Withdraws that arrived before their notice, remembered so the notice is closed as it
# arrives: [key, seq] of the newest EARLY_WITHDRAWS in the file `early`.
EARLY_WITHDRAWS = 64
MAX_ACTIVE = 1000
# Active-notice index record: 8-byte key, deadline (unsigned seconds: until 2106),
# seconds left when paused (NOT_PAUSED while the countdown runs).
INDEX_FORMAT = "<8sIi"
INDEX_RECORD = 16
INDEX_BYTES = MAX_ACTIVE * INDEX_RECORD
NOT_PAUSED = -0x80000000
PAUSED_MAX = 0x7FFFFFFF     # 68 years either way: any real countdown
DEADLINE_MAX = 0xFFFFFFFF
SEGMENT_RECORDS = 32
QUARANTINE_KEPT = 16        # seqs of quarantined records remembered (the count goes on)


def applied_claims(msg):
    """The claims `apply` uses, from a verified message (core/messages.py), so a commit
    need not decode the notice a second time (kilobytes of strings mid-commit)."""
    if msg.t == "withdraw":
        return {"ref": msg.ref}
    if msg.t != "notice":
        return None
    claims = {"iat": msg.iat, "cat": msg.cat, "ref": msg.ref,
              "host": host_of(msg.items[0].url), "items": [None] * len(msg.items)}
    for name in ("due", "within", "replaces", "preserve"):
        value = getattr(msg, name)
        if value is not None:
            claims[name] = value
    for flag in ("test", "nodisclose"):
        if getattr(msg, flag):
            claims[flag] = True
    return claims


def message_key(iss, mid):
    """8-byte identity of (issuer, message id); file names never contain peer text."""
    return sha256(iss.encode() + b"\x00" + bytes(mid)).digest()[:8]


def key_hex(key):
    return hexlify(key).decode()


def _exists(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False


def _mkdir(path):
    try:
        os.mkdir(path)
    except OSError:
        pass


def _read(path):
    # read(size): a read() of unknown length starts with a larger scratch buffer
    size = os.stat(path)[6]
    with open(path, "rb") as f:
        return f.read(size)


class Store:
    def __init__(self, root):
        self.root = root
        for d in ("", "/log", "/m", "/n", "/c", "/o"):
            _mkdir(root + d)
        self._tmp = root + "/.tmp"
        self.seq, self.head_hash = self._load_head()
        self.unapplied = False
        self.index = take_buffer("store.index", INDEX_BYTES)
        self.active = 0             # records in use in self.index
        self._outbox_n = 0
        self.torn_tail = 0          # bytes of a failed append dropped at boot
        # records that could not be applied (see replay): [count, [newest seqs]]
        self.quarantined = self.read_cbor(root + "/quarantine", [0, []])[0]
        self.replay()
        self._repair_tail()
        self._rebuild_index()
        self._outbox_n = 0
        for folder in os.ilistdir(root + "/o"):
            self._outbox_n += sum(1 for _ in os.ilistdir("%s/o/%s" % (root, folder[0])))

    # --- small atomic files ------------------------------------------------------
    def write_atomic(self, path, data):
        with open(self._tmp, "wb") as f:
            f.write(data)
        os.rename(self._tmp, path)

    def read_cbor(self, path, default=None):
        try:
            return cbor.loads(_read(path))
        except OSError:
            return default

    # --- device key and configuration ---------------------------------------------
    def device_seed(self, make_seed):
        path = self.root + "/key"
        try:
            seed = _read(path)
            if len(seed) == 32:
                return seed
        except OSError:
            pass
        seed = make_seed(32)
        self.write_atomic(path, seed)
        return seed

    def config(self):
        return self.read_cbor(self.root + "/config", {})

    def save_config(self, config):
        self.write_atomic(self.root + "/config", cbor.dumps(config))

    # --- the receipt log ------------------------------------------------------------
    def _segment(self, seq):
        return "%s/log/%d" % (self.root, (seq - 1) // SEGMENT_RECORDS)

    def _load_head(self):
        head = self.read_cbor(self.root + "/head")
        if head is None:
            return 0, ZERO_HASH
        return head[0], head[1]

    def _find_record(self, f, seq):
        """Position f at the record of seq in its segment; its length, or None. A record
        cut short (its length runs past the end of the segment: an append that failed
        half-way) is not there."""
        size = f.seek(0, 2)
        f.seek(0)
        header = bytearray(8)
        pos = 0
        while f.readinto(header) == 8:
            rseq, length = struct.unpack("<II", header)
            pos += 8 + length
            if pos > size:
                return None
            if rseq == seq:
                return length
            f.seek(length, 1)
        return None

    def _repair_tail(self):
        """After replay every whole record is applied: bytes after the last one in the
        current segment are a failed append. Rewrite the segment without them, so the
        next record is appended where readers look for it."""
        path = self._segment(self.seq + 1)
        try:
            size = os.stat(path)[6]
        except OSError:
            return
        end = 0
        header = bytearray(8)
        with open(path, "rb") as f:
            while f.readinto(header) == 8:
                rseq, length = struct.unpack("<II", header)
                if rseq > self.seq or end + 8 + length > size:
                    break
                end += 8 + length
                f.seek(end)
        if end == size:
            return
        self.torn_tail = size - end
        buf = bytearray(256)
        with open(path, "rb") as src, open(self._tmp, "wb") as dst:
            left = end
            while left:
                n = src.readinto(memoryview(buf)[:min(left, len(buf))])
                dst.write(memoryview(buf)[:n])
                left -= n
        os.rename(self._tmp, path)

    def _open_record(self, seq):
        if seq < 1:
            return None, None
        try:
            f = open(self._segment(seq), "rb")
        except OSError:
            return None, None
        length = self._find_record(f, seq)
        if length is None:
            f.close()
            return None, None
        return f, length

    def record(self, seq):
        """The log record of a chained receipt ({"r": receipt, "m": message?}), or None."""
        f, length = self._open_record(seq)
        if f is None:
            return None
        with f:
            return cbor.loads(f.read(length))

    def receipt(self, seq):
        """Just the receipt of a record: the message (up to 8 KiB) before it is skipped,
        not read (the outbox reads receipts all day)."""
        f, length = self._open_record(seq)
        if f is None:
            return None
        with f:
            entries = f.read(1)[0] - 0xA0          # the record map written by _append_record
            for _ in range(entries):
                key = f.read(2)[1:]                 # one-letter text key
                first = f.read(1)[0]
                extra = first & 0x1F
                n = extra if extra < 24 else int.from_bytes(f.read(1 << (extra - 24)), "big")
                if key == b"r":
                    return f.read(n)
                f.seek(n, 1)
        return None

    def _append_record(self, seq, rec):
        """The commit point: one record appended to its log segment. littlefs makes the
        append atomic at close: after a power cut the segment holds it whole or not at all.
        The record is the CBOR map {"m": message, "r": receipt} (deterministic order),
        streamed piece by piece: a message of 8 KiB is never copied into another buffer."""
        parts = [cbor.head(5, len(rec))]
        for key in ("m", "r"):
            if key in rec:
                parts += (cbor.head(3, 1), key.encode(), cbor.head(2, len(rec[key])), rec[key])
        with open(self._segment(seq), "ab") as f:
            f.write(struct.pack("<II", seq, sum(len(p) for p in parts)))
            for p in parts:
                f.write(p)

    def commit(self, seq, receipt, message=None, claims=None):
        """Make a receipt (and the message it answers) durable, then apply it.
        Returns only after the record is on flash. `claims`: what apply needs of the
        message's claims (applied_claims), when the caller has them decoded already."""
        if seq != self.seq + 1:
            raise ValueError("receipt seq %d does not follow %d" % (seq, self.seq))
        rec = {"r": receipt}
        if message is not None:
            rec["m"] = message
        self._append_record(seq, rec)
        # Durable from here. Should deriving the files below fail (out of memory), the
        # record is applied before anything else is read or written: from what apply
        # needs, kept here (the receipt and a few claims; the message is not needed once
        # its claims are), else from the log (a read of up to 8.5 KiB in one piece).
        if message is None or claims is not None:
            self.unapplied = (seq, {"r": receipt, "m": b""} if message is not None
                              else {"r": receipt}, claims)
        else:
            self.unapplied = True
        self.apply(seq, rec, claims)
        self.unapplied = False

    def catch_up(self):
        """Apply a committed record whose apply failed; call before reading indexes."""
        pending = self.unapplied
        if pending:
            if pending is True:
                self.replay()
            elif pending[0] == self.seq + 1:
                self.apply(*pending)
            self.unapplied = False

    def replay(self):
        """Apply log records newer than head (after a power cut between commit and apply).
        A record that cannot be applied (a bug, or a message that cannot be stored) is
        quarantined: counted, its seq kept in `quarantine`, the chain head moved past it,
        so the device still boots and its chain goes on; the record stays in the log."""
        while True:
            seq = self.seq + 1
            rec = self.record(seq)
            if rec is None:
                return
            try:
                self.apply(seq, rec)
            except MemoryError:
                raise
            except Exception as e:
                self._quarantine(seq, rec, e)

    def _quarantine(self, seq, rec, err):
        import sys
        print("meldbox: record %d quarantined:" % seq, file=sys.stderr)
        sys.print_exception(err, sys.stderr)
        from meldbox.core import receipts
        seqs = self.read_cbor(self.root + "/quarantine", [0, []])[1]
        seqs.append(seq)
        self.quarantined += 1
        self.write_atomic(self.root + "/quarantine",
                          cbor.dumps([self.quarantined, seqs[-QUARANTINE_KEPT:]]))
        try:                            # still deliver its receipt to its issuer
            iss = receipts.decode(rec["r"]).get("iss")
            if iss is not None:
                folder = self._outbox_folder(iss)
                _mkdir(folder)
                if not _exists("%s/%d" % (folder, seq)):
                    self.write_atomic("%s/%d" % (folder, seq), b"")
                    self._outbox_n += 1
        except Exception:
            pass
        self.seq, self.head_hash = seq, receipts.chain_hash(rec["r"])
        self.write_atomic(self.root + "/head", cbor.dumps([self.seq, self.head_hash]))

    # --- derived state ------------------------------------------------------------------
    def apply(self, seq, rec, claims=None):
        from meldbox.core import receipts, cose
        receipt = rec["r"]
        fields = receipts.decode(receipt)
        kind = fields["kind"]
        iss, nid = fields.get("iss"), fields.get("nid")
        if "m" in rec:
            key = message_key(iss, nid)
            t = {"delivered": "notice", "withdrawn": "withdraw", "status": "ping"}[kind]
            self._put_message(key, t, fields["nh"], seq)
            if claims is None and kind in ("delivered", "withdrawn"):
                claims = cbor.loads(cose.decode_sign1(rec["m"]).payload)
            if kind == "delivered":
                self._open_notice(key, seq, fields, claims)
                if "replaces" in claims:
                    self._close_notice(message_key(iss, claims["replaces"]), "replaced", seq)
            elif kind == "withdrawn":
                ref = message_key(iss, claims["ref"])
                if self.notice(ref) is None:
                    self._remember_early_withdraw(ref, seq)
                else:
                    self._close_notice(ref, "withdrawn", seq)
        elif nid is not None:
            self._panel_event(message_key(iss, nid), kind, seq, fields)
        if kind == "checkpoint":            # before pruning (store/retention.py)
            self._apply_checkpoint(seq, fields)
        if iss is not None:
            self.outbox_add(iss, seq)
        self.seq, self.head_hash = seq, receipts.chain_hash(receipt)
        self.write_atomic(self.root + "/head", cbor.dumps([self.seq, self.head_hash]))

    def _apply_checkpoint(self, seq, fields):
        """Queue it to every issuer with a receipt URI; note what retention.finish prunes."""
        for iss in self.config().get("receipts", {}):
            self.outbox_add(iss, seq)
        self.write_atomic(self.root + "/pruned", cbor.dumps([fields["pseq"], False]))

    def _message_path(self, key):
        # One flat folder: in littlefs every folder costs two 4 KiB blocks of metadata,
        # while small files live inline in their folder's metadata.
        return "%s/m/%s" % (self.root, key_hex(key))

    def _put_message(self, key, t, nh, seq):
        self.write_atomic(self._message_path(key), cbor.dumps({"t": t, "nh": nh, "seq": seq}))

    def message(self, iss, mid):
        """{"t", "nh", "seq"} of a message taken in before, or None."""
        return self.read_cbor(self._message_path(message_key(iss, mid)))

    def _notice_path(self, key, folder="n"):
        return "%s/%s/%s" % (self.root, folder, key_hex(key))

    def _open_notice(self, key, seq, fields, claims):
        items = claims["items"]
        # applied_claims gives the host (the items are placeholders then)
        host = claims["host"] if "host" in claims else host_of(items[0]["url"])
        at = fields["at"]
        deadline = claims["due"] if "due" in claims else at + claims["within"]
        notice = {
            "key": key, "iss": fields["iss"], "id": fields["nid"], "seq": seq, "last": seq,
            "at": at, "clock": fields["clock"], "iat": claims["iat"], "dl": deadline,
            "cat": claims["cat"], "ref": claims["ref"], "host": host,
            "n": len(items), "state": "new",
        }
        for flag in ("test", "nodisclose"):
            if claims.get(flag):
                notice[flag] = True
        for opt in ("within", "preserve"):
            if opt in claims:
                notice[opt] = claims[opt]
        if not _exists(self._notice_path(key, "c")):
            self.write_atomic(self._notice_path(key), cbor.dumps(notice))
            self._index_put(key, deadline)
            withdrawn = self._early_withdraw(key)
            if withdrawn is not None:           # its withdraw came first: closed at once
                self._close_notice(key, "withdrawn", withdrawn)

    def _remember_early_withdraw(self, key, seq):
        early = self.read_cbor(self.root + "/early", [])
        if [key, seq] not in early:             # apply runs again after a power cut
            early.append([key, seq])
            self.write_atomic(self.root + "/early", cbor.dumps(early[-EARLY_WITHDRAWS:]))

    def _early_withdraw(self, key):
        """seq of a withdraw of `key` that came before the notice, or None."""
        for k, seq in self.read_cbor(self.root + "/early", []):
            if k == key:
                return seq
        return None

    def notice(self, key):
        """Summary of a notice (active or closed), or None."""
        n = self.read_cbor(self._notice_path(key))
        if n is None:
            n = self.read_cbor(self._notice_path(key, "c"))
        return n

    def notice_message(self, key):
        """The notice's claims as received (for the detail screen)."""
        from meldbox.core import cose
        n = self.notice(key)
        if n is None:
            return None
        rec = self.record(n["seq"])
        if rec is None:                 # pruned (store/retention.py); the summary remains
            return None
        return cbor.loads(cose.decode_sign1(rec["m"]).payload)

    def _close_notice(self, key, state, seq):
        path = self._notice_path(key)
        n = self.read_cbor(path)
        if n is None:
            return
        n["state"], n["last"] = state, seq
        self.write_atomic(path, cbor.dumps(n))
        os.rename(path, self._notice_path(key, "c"))
        self._index_remove(key)

    def _panel_event(self, key, kind, seq, fields):
        path = self._notice_path(key)
        n = self.read_cbor(path)
        if n is None:
            return
        n["last"] = seq
        if kind == "seen":
            n["seen"] = fields["at"]
            if n["state"] == "new":
                n["state"] = "seen"
        elif kind == "cannot-comply":
            n["state"] = "cannot-comply"
            n["paused_left"] = n["dl"] - fields["at"]
            n["reason"] = fields.get("reason")
            self._index_remove(key)         # moves to the paused end of the list
            self._index_put(key, n["dl"], n["paused_left"])
        else:  # removed, not-ours, disputed: resolved, leaves the active list
            n["state"] = kind
            self.write_atomic(path, cbor.dumps(n))
            os.rename(path, self._notice_path(key, "c"))
            self._index_remove(key)
            return
        self.write_atomic(path, cbor.dumps(n))

    # --- active notices index (compact, in RAM) ---------------------------------------
    # One INDEX_RECORD-byte record per active notice, kept in list order: running
    # notices by deadline (so overdue first), then paused ones (cannot comply) by the time
    # they had left; equal ones in the order they came. The buffer has room for MAX_ACTIVE records from the  # noqa: E501
    # start (reserved at boot, see meldbox/heap.py), so taking in a notice never needs a
    # new large block; the panel reads records as it draws instead of holding objects.
    def _rebuild_index(self):
        self.active = 0
        for entry in os.ilistdir(self.root + "/n"):
            n = self.read_cbor("%s/n/%s" % (self.root, entry[0]))
            if n is not None:
                self._index_put(n["key"], n["dl"], n.get("paused_left") if n["state"] == "cannot-comply" else None)  # noqa: E501

    def index_position(self, key):
        """Position of an active notice in list order, or -1."""
        idx = self.index
        end = self.active * INDEX_RECORD
        off = idx.find(key)
        while 0 <= off < end:
            if off % INDEX_RECORD == 0:
                return off // INDEX_RECORD
            off = idx.find(key, off + 1)
        return -1

    def index_entry(self, i):
        """(key, deadline, paused_left or None) of the i-th active notice in list order."""
        key, deadline, paused = struct.unpack_from(INDEX_FORMAT, self.index, i * INDEX_RECORD)
        return key, deadline, (None if paused == NOT_PAUSED else paused)

    def _order(self, i):
        _, deadline, paused = struct.unpack_from(INDEX_FORMAT, self.index, i * INDEX_RECORD)
        return (0, deadline) if paused == NOT_PAUSED else (1, paused)

    def _index_put(self, key, deadline, paused_left=None):
        if self.index_position(key) >= 0:
            return
        if self.active >= MAX_ACTIVE:   # check_space refuses such a notice before commit
            return
        deadline = min(deadline, DEADLINE_MAX)
        if paused_left is None:
            order, paused_left = (0, deadline), NOT_PAUSED
        else:
            paused_left = max(-PAUSED_MAX, min(paused_left, PAUSED_MAX))
            order = (1, paused_left)
        lo, hi = 0, self.active
        while lo < hi:                  # first record that sorts after the new one
            mid = (lo + hi) // 2
            if self._order(mid) <= order:
                lo = mid + 1
            else:
                hi = mid
        view = memoryview(self.index)
        off, end = lo * INDEX_RECORD, self.active * INDEX_RECORD
        view[off + INDEX_RECORD:end + INDEX_RECORD] = view[off:end]     # memmove
        struct.pack_into(INDEX_FORMAT, self.index, off, key, deadline, paused_left)
        self.active += 1

    def _index_remove(self, key):
        i = self.index_position(key)
        if i >= 0:
            view = memoryview(self.index)
            off, end = i * INDEX_RECORD, self.active * INDEX_RECORD
            view[off:end - INDEX_RECORD] = view[off + INDEX_RECORD:end]
            self.active -= 1

    def active_count(self):
        return self.active

    def active_keys(self):
        """Keys of active notices in list order (earliest deadline first, paused last)."""
        return [self.index_entry(i)[0] for i in range(self.active)]

    # --- outbox ---------------------------------------------------------------------
    def _outbox_folder(self, iss):
        return "%s/o/%s" % (self.root, key_hex(sha256(iss.encode()).digest()[:4]))

    def outbox_add(self, iss, seq):
        folder = self._outbox_folder(iss)
        path = "%s/%d" % (folder, seq)
        if not _exists(path):           # apply runs again after a power cut
            _mkdir(folder)
            self.write_atomic(path, b"")
            self._outbox_n += 1

    def outbox_folder(self, iss):
        return self._outbox_folder(iss)

    def outbox_oldest(self, iss, n=16):
        """Up to n sequence numbers of receipts to `iss` not yet acknowledged, oldest
        first (memory bounded by n, whatever the length of the outbox)."""
        oldest = []
        try:
            names = os.ilistdir(self._outbox_folder(iss))
        except OSError:
            return oldest
        for entry in names:
            seq = int(entry[0])
            if len(oldest) < n or seq < oldest[-1]:
                i = len(oldest)
                while i and oldest[i - 1] > seq:
                    i -= 1
                oldest.insert(i, seq)
                if len(oldest) > n:
                    oldest.pop()
        return oldest

    def outbox(self):
        """Sequence numbers of every receipt not yet acknowledged, oldest first (tests and
        diagnostics: delivery uses outbox_oldest)."""
        seqs = []
        for folder in os.ilistdir(self.root + "/o"):
            seqs.extend(int(e[0]) for e in os.ilistdir("%s/o/%s" % (self.root, folder[0])))
        seqs.sort()
        return seqs

    def outbox_len(self):
        return self._outbox_n

    def acknowledged(self, seq, iss=None):
        """The issuer acknowledged receipt `seq` (without `iss`: looked up, slower)."""
        if iss is None:
            rec = self.record(seq)
            if rec is None:
                return
            from meldbox.core import receipts
            iss = receipts.decode(rec["r"]).get("iss")
            if iss is None:
                return
        try:
            os.remove("%s/%d" % (self._outbox_folder(iss), seq))
            self._outbox_n -= 1
        except OSError:
            pass

    # --- capacity ---------------------------------------------------------------------
    def check_space(self, notice=True):
        """Raise StoreFull when flash is short: a new notice needs RESERVE_BYTES free,
        every other receipt (withdraw, ping, panel) MIN_FREE_BYTES, so closing notices
        keeps working after new ones are refused, and no append ever meets a full disk."""
        st = os.statvfs(self.root)
        free = st[0] * st[3]
        if free < (RESERVE_BYTES if notice else MIN_FREE_BYTES):
            raise StoreFull("flash nearly full: %d bytes free" % free)
        if notice and self.active_count() >= MAX_ACTIVE:
            raise StoreFull("%d active notices, at most %d" % (self.active_count(), MAX_ACTIVE))

