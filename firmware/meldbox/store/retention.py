"""Compaction of the store: slimming the log of messages no longer needed, and retention:
pruning the receipt log, and the files derived from it, once what it holds is closed,
delivered and older than its issuer's retention period (PROTOCOL.md 4, "Retention and
checkpoints"). (One module: each module the device keeps loaded costs heap.)

Slimming: a withdraw's or ping's message is not read after it is applied, nor is a
notice's once it is packed (store/notices.py pack, a day after it closed, unless its
`preserve` date is ahead); their seqs are listed in `slim`, and compaction rewrites each
completed segment holding one as {"r": receipt} records. A closed, retained notice then
costs its receipts and two index entries.

The unit is a whole log segment (store.segment_records receipts), oldest first, so the
retained log is always one run of seq numbers. A segment goes when every record in it
- reached its issuers (no outbox marker left),
- is older than the retention period of its issuer (plus the iat lead a message may have),
- and concerns no active notice, no notice whose `preserve` date is still ahead, and no
  notice closed within the retention period.
Before anything is deleted the ledger chains a `checkpoint` receipt naming the newest
pruned seq and its hash; applying it (Store.apply) writes `pruned` =
[pseq, done]. Then the derived
files that point at pruned records go (index entries, c/), then the segments, then `done` is set:
a power cut anywhere in between is finished by the next `compact` (the checkpoint record
itself is replayed like any other). Nothing depends on the pruned records: a re-sent
message of a pruned notice is older than the horizon and refused (`StaleMessage`).
"""
import asyncio
import gc
import os
import struct

from meldbox import log_exception
from meldbox.core import cbor, errors, receipts
from meldbox.core.messages import MAX_FUTURE_IAT
from meldbox.store import active, messages, notices, outbox
from meldbox.store.messages import key_hex, message_key
from meldbox.store.store import copy, receipt_of

DAY = 86400
DEFAULT_DAYS = 90
# A message's iat may lead the receipt's "at" by this much (core/messages.py).
IAT_LEAD = MAX_FUTURE_IAT
SEGMENTS_PER_PASS = 8       # bounds the time one compaction holds the event loop
DELETE_BATCH = 32           # names collected before deleting (a directory is not
                            # iterated while entries are removed from it)
# Below this much free flash the device says so (panel, /status) before it must refuse
# new notices at store.RESERVE_BYTES.
LOW_BYTES = 192 * 1024
INTERVAL_S = 3600           # device time between compactions


def periods(config):
    """Retention period in seconds per issuer, from the trust entries' `retention_days`
    (the largest an issuer's entries give; DEFAULT_DAYS when none does)."""
    out = {}
    for entry in config.get("trust", ()):
        days = entry.get("retention_days")
        if days is not None:
            out[entry["iss"]] = max(out.get(entry["iss"], 0), days * DAY)
    return out


def period(table, iss):
    return table.get(iss, DEFAULT_DAYS * DAY)


def check_fresh(table, iss, iat, now):
    """Refuse a message (not seen before) whose iat is older than its issuer's retention
    horizon: a notice that old may have been taken in and pruned, so it cannot be told
    apart from a replay."""
    horizon = now - period(table, iss)
    if iat < horizon:
        raise errors.StaleMessage(
            "iat %d is older than the retention horizon %d of %s (%d days): resend it as a "
            "new message with a new id and iat" % (iat, horizon, iss, period(table, iss) // DAY))


def flash_low(store):
    return not store.has_free(LOW_BYTES)


def _exists(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False


# --- deciding ------------------------------------------------------------------------------
def _in_any_outbox(store, seq):
    base = store.root + "/o"
    for folder in os.ilistdir(base):
        if _exists("%s/%s/%d" % (base, folder[0], seq)):
            return True
    return False


def _notice_prunable(store, key, now, limit):
    """Not active, no preserve date ahead, closed before limit. (Its iat needs no check:
    the delivered receipt is older than limit, and iat leads it by at most IAT_LEAD.)"""
    if _exists("%s/n/%s" % (store.root, key_hex(key))):
        return False                        # active: never pruned
    closed = store.read_cbor("%s/c/%s" % (store.root, key_hex(key)))
    if closed is not None:
        if closed.get("preserve", 0) >= now:
            return False
        last = closed["last"]
    else:                                   # packed (store/notices.py pack), or gone
        last = messages.find(store, key, closed=True)
        if last is None:
            return True
    last = store.receipt(last)              # when it was closed
    return last is None or receipts.decode(last)["at"] < limit


def record_prunable(store, seq, now, table):
    receipt = store.receipt(seq)
    if receipt is None:
        return False
    fields = receipts.decode(receipt)
    kind, iss = fields["kind"], fields.get("iss")
    if kind == "checkpoint":
        return not _in_any_outbox(store, seq)
    if _exists("%s/%d" % (outbox.folder(store, iss), seq)):
        return False                        # the issuer has not acknowledged it yet
    limit = now - period(table, iss) - IAT_LEAD
    if fields["at"] >= limit:
        return False
    if kind in ("withdrawn", "status"):     # answers a withdraw or a ping, not a notice
        return True
    return _notice_prunable(store, message_key(iss, fields["nid"]), now, limit)


def prunable_upto(store, now, table, max_segments=SEGMENTS_PER_PASS):
    """The newest seq such that every segment up to it may go, or None."""
    segments = sorted(int(e[0]) for e in os.ilistdir(store.root + "/log"))
    pseq = None
    for n in segments[:max_segments]:
        last = (n + 1) * store.segment_records
        if last > store.seq:
            break
        for seq in range(n * store.segment_records + 1, last + 1):
            if not record_prunable(store, seq, now, table):
                return pseq
        pseq = last
    return pseq


# --- deleting ------------------------------------------------------------------------------
def _delete_where(folder, read, older):
    """Delete the files of folder whose content read() says is older (batches of names)."""
    while True:
        doomed = []
        for entry in os.ilistdir(folder):
            path = "%s/%s" % (folder, entry[0])
            if older(read(path)):
                doomed.append(path)
                if len(doomed) == DELETE_BATCH:
                    break
        for path in doomed:
            os.remove(path)
        if len(doomed) < DELETE_BATCH:
            return


def finish(store):
    """Complete the prune the newest checkpoint announced (idempotent)."""
    pruned = store.read_cbor(store.root + "/pruned")
    if pruned is None or pruned[1]:
        return
    pseq = pruned[0]
    root = store.root
    # Derived files first: nothing may point into a segment that is gone.
    messages.prune(store, pseq)
    _delete_where(root + "/c", store.read_cbor, lambda c: c is None or c["last"] <= pseq)
    for entry in list(os.ilistdir(root + "/log")):
        if (int(entry[0]) + 1) * store.segment_records <= pseq:
            os.remove("%s/log/%s" % (root, entry[0]))
    store.write_atomic(root + "/pruned", cbor.dumps([pseq, True]))


# --- slimming ------------------------------------------------------------------------------
def slim(store, segments=SEGMENTS_PER_PASS):
    """Drop from the log the messages listed in `slim` (Store.slim_later), in up to
    SEGMENTS_PER_PASS segments a pass; the segment still appended to waits. Each segment
    is rewritten whole and renamed into place (atomic); the list is cut after."""
    path = store.root + "/slim"
    try:
        src = open(path, "rb")
    except OSError:
        return False
    per = store.segment_records
    current = store.seq // per                  # the segment of the next record
    word = bytearray(4)
    with src:                                   # nothing to do: nothing written
        while src.readinto(word) == 4:
            if (struct.unpack("<I", word)[0] - 1) // per < current:
                break
        else:
            return False
    src = open(path, "rb")
    todo = {}
    with src, open(path + ".next", "wb") as rest:
        while src.readinto(word) == 4:
            seq = struct.unpack("<I", word)[0]
            n = (seq - 1) // per
            if n >= current or (n not in todo and len(todo) == segments):
                rest.write(word)
            elif n in todo:
                todo[n].append(seq)
            else:
                todo[n] = [seq]
    if not todo:
        os.remove(path + ".next")
        return False
    for n in todo:
        _slim_segment(store, n, todo[n])
    os.rename(path + ".next", path)
    return len(todo) == segments                # maybe more to do




def _slim_segment(store, n, seqs):
    path = "%s/log/%d" % (store.root, n)
    try:
        src = open(path, "rb")
    except OSError:
        return                                  # pruned already
    header = bytearray(8)
    buf = bytearray(256)
    changed = False
    with src, open(store.tmp, "wb") as dst:
        size = src.seek(0, 2)
        src.seek(0)
        pos = 0
        while src.readinto(header) == 8:
            seq, length = struct.unpack("<II", header)
            end = pos + 8 + length
            if end > size:
                break
            receipt = None
            if seq in seqs and src.read(1)[0] == 0xA2:     # {"m", "r"}: still a message
                src.seek(pos + 8)
                receipt = receipt_of(src)
            if receipt is None:
                src.seek(pos)
                copy(src, dst, 8 + length, buf)
            else:                               # the record {"r": receipt}
                head = cbor.head(2, len(receipt))
                dst.write(struct.pack("<II", seq, 3 + len(head) + len(receipt)))
                dst.write(b"\xa1\x61r")
                dst.write(head)
                dst.write(receipt)
                changed = True
            src.seek(end)
            pos = end
    if changed:
        os.rename(store.tmp, path)
        store.forget_offsets()
    else:
        os.remove(store.tmp)


def tidy(store, now):
    """What every compaction does first: catch up, finish an interrupted prune, pack."""
    store.catch_up()
    finish(store)
    notices.pack(store, now)
    active.tidy(store)


def prune(store, ledger, now, table, segments=SEGMENTS_PER_PASS):
    """Prune up to `segments` segments after a checkpoint; True when something went."""
    pseq = prunable_upto(store, now, table, segments)
    if pseq is None:
        return False
    ledger.checkpoint(pseq, receipts.chain_hash(store.receipt(pseq)))
    finish(store)
    return True


def compact(store, ledger, now, table, segments=SEGMENTS_PER_PASS):
    """Pack closed notices and slim the log, then prune what may go (up to `segments`
    segments each); True when something was pruned."""
    tidy(store, now)
    while slim(store, segments):
        pass
    pruned = prune(store, ledger, now, table, segments)
    store.forget_free()     # blocks moved: the free bound is counted again
    return pruned


class Retention:
    """When to compact: every INTERVAL_S of device time, and before refusing for space."""

    def __init__(self, store, ledger, clock, config):
        self.store = store
        self.ledger = ledger
        self.clock = clock
        self.table = periods(config)
        self.last_run = None

    def configure(self, config):
        self.table = periods(config)

    def check_fresh(self, msg):
        if self.clock.trusted():        # an untrusted clock cannot date anything as old
            check_fresh(self.table, msg.iss, msg.iat, self.clock.now())

    def compact(self):
        """Compact as far as possible now (only on a trusted clock)."""
        if not self.clock.trusted():
            return False
        self.last_run = now = self.clock.now()
        pruned = False
        while compact(self.store, self.ledger, now, self.table):
            pruned = True
        return pruned

    def due(self):
        return self.last_run is None or self.clock.now() - self.last_run >= INTERVAL_S

    def step(self):
        """Compact if due, a segment at a time (a generator: the caller yields to other
        tasks between steps, so that a long compaction never holds the device for more
        than a segment's work); collect the garbage at once after, so that it never lies
        between long-lived objects (the heap must keep a block for the biggest message)."""
        if not self.due() or not self.clock.trusted():
            return
        self.last_run = now = self.clock.now()
        store = self.store
        try:
            tidy(store, now)
            store.forget_free()     # each step moves blocks: count free flash again
            yield
            while slim(store, 1):
                store.forget_free()
                yield
            while prune(store, self.ledger, now, self.table, 1):
                store.forget_free()
                yield
        except Exception as e:      # out of memory, flash error: try next time
            log_exception("compacting the store", e)
        store.forget_free()
        gc.collect()

    async def run(self):
        while True:
            await asyncio.sleep(1)
            for _ in self.step() or ():
                await asyncio.sleep_ms(0)
