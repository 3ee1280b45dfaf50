"""Retention: pruning the receipt log, and the files derived from it, once what it holds
is closed, delivered and older than its issuer's retention period (PROTOCOL.md 4,
"Retention and checkpoints").

The unit is a whole log segment (store.SEGMENT_RECORDS receipts), oldest first, so the
retained log is always one run of seq numbers. A segment goes when every record in it
- reached its issuers (no outbox marker left),
- is older than the retention period of its issuer (plus the iat lead a message may have),
- and concerns no active notice, no notice whose `preserve` date is still ahead, and no
  notice closed within the retention period.
Before anything is deleted the ledger chains a `checkpoint` receipt naming the newest
pruned seq and its hash; applying it (Store.apply) writes `pruned` =
[pseq, done]. Then the derived
files that point at pruned records go (m/, c/), then the segments, then `done` is set:
a power cut anywhere in between is finished by the next `compact` (the checkpoint record
itself is replayed like any other). Nothing depends on the pruned records: a re-sent
message of a pruned notice is older than the horizon and refused (`StaleMessage`).
"""
import asyncio
import gc
import os

from meldbox import log_exception
from meldbox.core import cbor, errors, receipts
from meldbox.core.messages import MAX_FUTURE_IAT
from meldbox.store import outbox
from meldbox.store.messages import key_hex, message_key
from meldbox.store.store import SEGMENT_RECORDS

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


def flash_free(store):
    st = os.statvfs(store.root)
    return st[0] * st[3]


def flash_low(store):
    return flash_free(store) < LOW_BYTES


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
    if _exists("%s/n/%s" % (store.root, key_hex(key))):
        return False                        # active: never pruned
    closed = store.read_cbor("%s/c/%s" % (store.root, key_hex(key)))
    if closed is None:
        return True
    if closed.get("preserve", 0) >= now or closed["iat"] >= limit:
        return False
    last = store.receipt(closed["last"])    # when it was closed
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
        last = (n + 1) * SEGMENT_RECORDS
        if last > store.seq:
            break
        for seq in range(n * SEGMENT_RECORDS + 1, last + 1):
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
    _delete_where(root + "/m", store.read_cbor, lambda m: m is None or m["seq"] <= pseq)
    _delete_where(root + "/c", store.read_cbor, lambda c: c is None or c["last"] <= pseq)
    for entry in list(os.ilistdir(root + "/log")):
        if (int(entry[0]) + 1) * SEGMENT_RECORDS <= pseq:
            os.remove("%s/log/%s" % (root, entry[0]))
    store.write_atomic(root + "/pruned", cbor.dumps([pseq, True]))


def compact(store, ledger, now, table):
    """Prune what may go (up to SEGMENTS_PER_PASS segments); True when something did."""
    store.catch_up()
    finish(store)
    pseq = prunable_upto(store, now, table)
    if pseq is None:
        return False
    ledger.checkpoint(pseq, receipts.chain_hash(store.receipt(pseq)))
    finish(store)
    return True


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
        """Compact if due; collect the garbage at once, so that it never lies between
        long-lived objects (the heap must keep a block for the biggest message)."""
        if not self.due():
            return
        try:
            self.compact()
        except Exception as e:      # out of memory, flash error: try next time
            self.last_run = self.clock.now()
            log_exception("compacting the store", e)
        gc.collect()

    async def run(self):
        while True:
            await asyncio.sleep(1)
            self.step()
