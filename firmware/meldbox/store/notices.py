"""Notice state on flash: n/KEY an active notice's summary (what the panel draws), c/KEY a
recently closed one (removed, withdrawn, replaced, ...), and `early`: withdraws that
arrived before their notice, so the notice is closed as it arrives. A day after closing
(PACK_AFTER_S), `pack` keeps of a closed notice only its closing seq in the message index
and drops its message from the log: the per-notice file and message cost more flash than
the notice's receipts. Functions of the store (store/store.py),
called as it applies a record; each change of the active list goes to the panel's index
and its journal (store/active.py: put, remove)."""
import os

from meldbox.core import cbor, cose, receipts
from meldbox.core.url import host_of
from meldbox.store import active, messages
from meldbox.store.messages import key_hex

# [key, seq] of the newest EARLY_WITHDRAWS withdraws that came first, in the file `early`.
EARLY_WITHDRAWS = 64
PACK_AFTER_S = 86400        # a closed notice's summary stays on the panel this long
PACK_BATCH = 16             # names collected before changing the folder


def path(store, key, folder="n"):
    return "%s/%s/%s" % (store.root, folder, key_hex(key))


def get(store, key):
    """Summary of a notice (active or closed), or None."""
    n = store.read_cbor(path(store, key))
    if n is None:
        n = store.read_cbor(path(store, key, "c"))
    return n


def claims(store, key):
    """The notice's claims as received (for the detail screen), or None (also once its
    record is pruned, store/retention.py: the summary remains)."""
    n = get(store, key)
    rec = None if n is None else store.record(n["seq"])
    if rec is None or "m" not in rec:
        return None
    return cbor.loads(cose.decode_sign1(rec["m"]).payload)


def take_in(store, key, seq, fields, claims):
    """A delivered notice (claims: store.applied_claims, or as received)."""
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
    try:
        os.stat(path(store, key, "c"))
        return                                  # closed already (apply runs again)
    except OSError:
        pass
    store.write_atomic(path(store, key), cbor.dumps(notice))
    active.put(store, key, deadline)
    for k, wseq in store.read_cbor(store.root + "/early", []):
        if k == key:                            # its withdraw came first: closed at once
            close(store, key, "withdrawn", wseq)
            return


def withdraw(store, key, seq):
    """A withdraw of `key`: closes it, or is remembered until the notice arrives."""
    if messages.find(store, key) is not None:   # taken in (closed already: nothing to do)
        close(store, key, "withdrawn", seq)
        return
    early = store.read_cbor(store.root + "/early", [])
    if [key, seq] not in early:                 # apply runs again after a power cut
        early.append([key, seq])
        store.write_atomic(store.root + "/early", cbor.dumps(early[-EARLY_WITHDRAWS:]))


def close(store, key, state, seq, n=None):
    """An active notice leaves the list: its summary, in `state` as of receipt `seq`,
    moves from n/ to c/ (n: the summary when the caller has read it already)."""
    summary = path(store, key)
    if n is None:
        n = store.read_cbor(summary)
        if n is None:
            return
    n["state"], n["last"] = state, seq
    store.write_atomic(summary, cbor.dumps(n))
    os.rename(summary, path(store, key, "c"))
    active.remove(store, key)


def staff_receipt(store, key, kind, seq, fields):
    """A panel action's receipt: seen, cannot-comply (the countdown pauses), or resolved
    (removed, not-ours, disputed: the notice closes)."""
    summary = path(store, key)
    n = store.read_cbor(summary)
    if n is None:
        return
    if kind not in ("seen", "cannot-comply"):
        close(store, key, kind, seq, n)
        return
    n["last"] = seq
    if kind == "seen":
        n["seen"] = fields["at"]
        if n["state"] == "new":
            n["state"] = "seen"
    else:
        n["state"] = "cannot-comply"
        n["paused_left"] = n["dl"] - fields["at"]
        n["reason"] = fields.get("reason")
        active.put(store, key, n["dl"], n["paused_left"])    # to the paused end
    store.write_atomic(summary, cbor.dumps(n))


def pack(store, now):
    """Pack the notices closed more than PACK_AFTER_S ago whose `preserve` date (if any) is
    past: their closing seq goes to the message index, their message is marked for the
    log's slimming, their summary file goes (in that order: a power cut repeats a step)."""
    folder = store.root + "/c"
    while True:
        ready = []
        for entry in os.ilistdir(folder):
            n = store.read_cbor("%s/%s" % (folder, entry[0]))
            if n is None or n.get("preserve", 0) >= now:
                continue
            last = store.receipt(n["last"])
            if last is not None and receipts.decode(last)["at"] > now - PACK_AFTER_S:
                continue
            ready.append((entry[0], n["key"], n["seq"], n["last"]))
            if len(ready) == PACK_BATCH:
                break
        for name, key, seq, last in ready:
            messages.put(store, key, last | messages.CLOSED)
            store.slim_later(seq)
            os.remove("%s/%s" % (folder, name))
        if len(ready) < PACK_BATCH:
            return
