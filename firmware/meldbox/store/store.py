"""The device's durable state on littlefs: a write-ahead receipt log and what derives from it.

Layout under `root`, and the module that keeps each part (the derived parts are plain
functions of the Store: a module costs heap, a class more):
  key, config     the device's Ed25519 seed and provisioning (CBOR map)      store/device.py
  layout          {"seg": records per log segment}
  log/N           receipts sN+1 .. sN+s (s records a segment), each a record appended:
                  seq, length (u32 LE each), {"r": receipt COSE, "m": message COSE?};
                  compaction rewrites a segment without the messages no longer needed
  head            [seq, chain hash] of the last record applied                   this module
  quarantine      [count, newest seqs] of records that could not be applied
  x/0 .. x/f      the message index: (key, seq) of every message taken in (4.09), and
                  the closing seq of packed closed notices                 store/messages.py
  n/KEY, c/KEY    active and recently closed notices (summaries for the panel; a closed
                  one is packed into the index after a day)                store/notices.py
  slim            seqs of records whose message is needed no more   store/retention.py
  early           withdraws that came before their notice                   store/notices.py
  o/IH/SEQ        receipts not yet acknowledged by their issuer              store/outbox.py
  pruned          [pseq, done] of the newest checkpoint: log segments up to pseq and
                  the files derived from them are pruned                  store/retention.py

The log record is the commit point: it is appended to its segment and the file closed,
which littlefs makes atomic (copy-on-write: new content counts only once the file's
metadata commit is written). Segments share flash blocks between records; a file per
receipt would take a whole 4 KiB block each. Everything else is derived by `apply`, which is
idempotent and re-run at boot for records newer than `head` (a power cut between the
commit and the end of apply loses nothing). Nothing is acknowledged before the commit.

Boot never stops on one bad record: a record whose apply raises is quarantined (counted in
`quarantined`, its seq in the file `quarantine`, the chain head moved past it, its receipt
still queued for its issuer). The rest of boot (a torn tail, the panel's index, the outbox
count) is store/startup.py's, which opens the store.
"""
import os
import struct
import sys

from meldbox.core import cbor, cose, receipts
from meldbox.core.errors import StoreFull
from meldbox.core.url import host_of
from meldbox.store import device, notices, outbox
from meldbox.store import messages
from meldbox.store.messages import message_key

ZERO_HASH = bytes(32)
# Refuse new notices (5.03) when less than this many bytes are free: closing notices
# and delivering receipts must still have room to be written.
RESERVE_BYTES = 64 * 1024
# Below this, nothing at all is written (a receipt with an 8 KiB message, its derived files
# and littlefs's copy-on-write of the metadata they touch fit well within it).
MIN_FREE_BYTES = 32 * 1024
# Records per log segment, the unit of retention. Once slimmed, a record is a receipt of
# about 260 bytes: 128 of them fill 9 blocks of 4 KiB with half a block left over on
# average (32 left a whole block in 3 unused). Kept in the file `layout` at creation;
# a store from before it has 32.
SEGMENT_RECORDS = 128
QUARANTINE_KEPT = 16        # seqs of quarantined records remembered (the count goes on)
# littlefs has no count of free blocks: statvfs walks every file on flash (on a year's
# store it was a sixth of a soak device's time, asked at every receipt). The store keeps a
# lower bound instead: the last count, less what each write since could have taken at
# most, and counts again only when the bound is too low to decide or FREE_RECOUNT writes
# have passed. A commit takes at most its bytes and COMMIT_BLOCKS new blocks (log segment,
# message index bucket, notice files, outbox markers, head, a directory's split).
FREE_RECOUNT = 32
COMMIT_BLOCKS = 10


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


def receipt_of(f):
    """The receipt of the record whose map starts at f's position (the map written by
    Store.append_record; a message before it is skipped, not read)."""
    for _ in range(f.read(1)[0] - 0xA0):
        key = f.read(2)[1:]                 # one-letter text key
        extra = f.read(1)[0] & 0x1F
        n = extra if extra < 24 else int.from_bytes(f.read(1 << (extra - 24)), "big")
        if key == b"r":
            return f.read(n)
        f.seek(n, 1)
    return None


def copy(src, dst, n, buf):
    """Copy n bytes from src to dst through buf (a segment is never read whole)."""
    while n:
        got = src.readinto(memoryview(buf)[:min(n, len(buf))])
        dst.write(memoryview(buf)[:got])
        n -= got


def _read(path):
    # read(size): a read() of unknown length starts with a larger scratch buffer. The size
    # comes from seek, not os.stat: littlefs's stat of a file took 2.7 ms, an open 0.7.
    with open(path, "rb") as f:
        size = f.seek(0, 2)
        f.seek(0)
        return f.read(size)


class Store:
    """The receipt log and its application to the derived files. `index`: the panel's
    list order (app/model.py PanelIndex), told as notices join, pause and leave."""

    def __init__(self, root, index, segment_records=SEGMENT_RECORDS):
        self.root = root
        self._free = None           # lower bound of free bytes, or None: count (free_bytes)
        self._free_writes = 0       # writes charged since the last count
        for d in ("", "/log", "/x", "/n", "/c", "/o"):
            try:
                os.mkdir(root + d)
            except OSError:
                pass
        self.tmp = root + "/.tmp"
        layout = self.read_cbor(root + "/layout")
        if layout is None:
            if any(True for _ in os.ilistdir(root + "/log")):
                segment_records = 32            # written before the layout was kept
            self.write_atomic(root + "/layout", cbor.dumps({"seg": segment_records}))
        else:
            segment_records = layout["seg"]
        self.segment_records = segment_records
        # [segment, bytes walked, records known, their offsets] (see _find_record)
        self._offsets = [[-1, 0, 0, bytearray(4 * segment_records)] for _ in range(2)]
        self.index = index
        head = self.read_cbor(root + "/head", (0, ZERO_HASH))
        self.seq, self.head_hash = head[0], head[1]
        self.unapplied = False
        self.outbox_len = 0         # receipts in the outbox (store/outbox.py)
        self.active_entries = 0     # entries in the active list's journal (store/active.py)
        self.torn_tail = 0          # bytes of a failed append dropped at boot
        # records that could not be applied (see replay): [count, [newest seqs]]
        self.quarantined = self.read_cbor(root + "/quarantine", [0, []])[0]
        self.replay()

    # --- small atomic files ------------------------------------------------------
    def write_atomic(self, path, data):
        self.charge(len(data))
        with open(self.tmp, "wb") as f:
            f.write(data)
        os.rename(self.tmp, path)

    def read_cbor(self, path, default=None):
        try:
            return cbor.loads(_read(path))
        except OSError:
            return default

    # --- the receipt log ------------------------------------------------------------
    def segment(self, seq):
        return "%s/log/%d" % (self.root, (seq - 1) // self.segment_records)

    def _find_record(self, f, seq):
        """Position f at the record of seq in its segment; its length, or None. A record
        cut short (its length runs past the end of the segment: an append that failed
        half-way) is not there. The records' offsets are kept for the two segments read
        last, extended as a segment grows (walking up to 128 headers for every read made
        compaction quadratic); rewriting a segment calls forget_offsets."""
        n, i = divmod(seq - 1, self.segment_records)
        size = f.seek(0, 2)
        tables = self._offsets
        t = tables[0]
        if t[0] != n:
            t = tables[1]
            tables[0], tables[1] = t, tables[0]
        if t[0] != n or size < t[1]:
            t[0], t[1], t[2] = n, 0, 0          # segment, bytes walked, records known
        if i >= t[2] and t[1] < size:
            self._walk(f, t, size)
        if i >= t[2]:
            return None
        offsets = t[3]
        pos = struct.unpack_from("<I", offsets, 4 * i)[0]
        end = t[1] if i + 1 == t[2] else struct.unpack_from("<I", offsets, 4 * i + 4)[0]
        f.seek(pos + 8)
        return end - pos - 8

    def _walk(self, f, t, size):
        """Extend the offsets of segment t[0] over the records after byte t[1]."""
        header = bytearray(8)
        first = t[0] * self.segment_records + 1
        f.seek(t[1])
        while t[2] < self.segment_records and f.readinto(header) == 8:
            rseq, length = struct.unpack("<II", header)
            end = t[1] + 8 + length
            if end > size or rseq != first + t[2]:
                return
            struct.pack_into("<I", t[3], 4 * t[2], t[1])
            t[1] = end
            t[2] += 1
            f.seek(end)

    def forget_offsets(self):
        for t in self._offsets:
            t[0] = -1

    def _open_record(self, seq):
        if seq < 1:
            return None, None
        try:
            f = open(self.segment(seq), "rb")
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
            return receipt_of(f)

    def append_record(self, seq, rec):
        """The commit point: one record appended to its log segment. littlefs makes the
        append atomic at close: after a power cut the segment holds it whole or not at all.
        The record is the CBOR map {"m": message, "r": receipt} (deterministic order),
        streamed piece by piece: a message of 8 KiB is never copied into another buffer."""
        parts = [cbor.head(5, len(rec))]
        for key in ("m", "r"):
            if key in rec:
                parts += (cbor.head(3, 1), key.encode(), cbor.head(2, len(rec[key])), rec[key])
        with open(self.segment(seq), "ab") as f:
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
        self.charge(len(receipt) + (len(message) if message is not None else 0),
                    COMMIT_BLOCKS)
        self.append_record(seq, rec)
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
        print("meldbox: record %d quarantined:" % seq, file=sys.stderr)
        sys.print_exception(err, sys.stderr)
        seqs = self.read_cbor(self.root + "/quarantine", [0, []])[1]
        seqs.append(seq)
        self.quarantined += 1
        self.write_atomic(self.root + "/quarantine",
                          cbor.dumps([self.quarantined, seqs[-QUARANTINE_KEPT:]]))
        try:                            # still deliver its receipt to its issuer
            iss = receipts.decode(rec["r"]).get("iss")
            if iss is not None:
                outbox.add(self, iss, seq)
        except Exception:
            pass
        self._set_head(seq, receipts.chain_hash(rec["r"]))

    def _set_head(self, seq, head_hash):
        self.seq, self.head_hash = seq, head_hash
        self.write_atomic(self.root + "/head", cbor.dumps([seq, head_hash]))

    def slim_later(self, seq):
        """The message of record seq is needed no more: compaction drops it from the log
        (store/retention.py slim). The list `slim` holds their seqs (u32 LE)."""
        with open(self.root + "/slim", "ab") as f:
            f.write(struct.pack("<I", seq))

    # --- deriving the files of a record -------------------------------------------------
    def apply(self, seq, rec, claims=None):
        receipt = rec["r"]
        fields = receipts.decode(receipt)
        kind = fields["kind"]
        iss, nid = fields.get("iss"), fields.get("nid")
        if "m" in rec:
            key = message_key(iss, nid)
            messages.put(self, key, seq)
            if claims is None and kind in ("delivered", "withdrawn"):
                claims = cbor.loads(cose.decode_sign1(rec["m"]).payload)
            if kind == "delivered":
                notices.take_in(self, key, seq, fields, claims)
                if "replaces" in claims:
                    notices.close(self, message_key(iss, claims["replaces"]), "replaced", seq)
            elif kind == "withdrawn":
                notices.withdraw(self, message_key(iss, claims["ref"]), seq)
            if kind != "delivered":         # a withdraw or ping is not read again
                self.slim_later(seq)
        elif nid is not None:
            notices.staff_receipt(self, message_key(iss, nid), kind, seq, fields)
        if kind == "checkpoint":            # before pruning (store/retention.py)
            # queued to every issuer with a receipt URI; note what retention.finish prunes
            for to in device.config(self).get("receipts", {}):
                outbox.add(self, to, seq)
            self.write_atomic(self.root + "/pruned", cbor.dumps([fields["pseq"], False]))
        if iss is not None:
            outbox.add(self, iss, seq)
        self._set_head(seq, receipts.chain_hash(receipt))

    # --- capacity ---------------------------------------------------------------------
    def free_bytes(self):
        """Free flash in bytes, counted (statvfs)."""
        st = os.statvfs(self.root)
        self._block = st[0]
        self._free = st[0] * st[3]
        self._free_writes = 0
        return self._free

    def has_free(self, nbytes):
        """At least nbytes free? Counts only when the lower bound cannot say yes."""
        free = self._free
        if free is None or free < nbytes:
            free = self.free_bytes()
        return free >= nbytes

    def charge(self, nbytes, blocks=1):
        """Lower the free bound by what a write of nbytes (in up to `blocks` new blocks
        besides its own) can take; every FREE_RECOUNT writes the next ask counts again."""
        if self._free is not None:
            self._free_writes += 1
            if self._free_writes >= FREE_RECOUNT:
                self._free = None
            else:
                self._free -= nbytes + blocks * self._block

    def forget_free(self):
        """Count again at the next ask (after work that moves many blocks: compaction)."""
        self._free = None

    def check_space(self, notice=True):
        """Raise StoreFull when flash is short: a new notice needs RESERVE_BYTES free,
        every other receipt (withdraw, ping, panel) MIN_FREE_BYTES, so closing notices
        keeps working after new ones are refused, and no append ever meets a full disk.
        A new notice also needs room in the panel's index."""
        if not self.has_free(RESERVE_BYTES if notice else MIN_FREE_BYTES):
            raise StoreFull("flash nearly full: %d bytes free" % self._free)
        index = self.index
        if notice and index.count >= index.capacity:
            raise StoreFull("%d active notices, at most %d" % (index.count, index.capacity))
