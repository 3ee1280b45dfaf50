"""Notice state on flash: n/KEY an active notice's summary (what the panel draws), c/KEY a
closed one (removed, withdrawn, replaced, ...), and `early`: withdraws that arrived before
their notice, so the notice is closed as it arrives. Functions of the store (store/store.py),
called as it applies a record; each change of the active list goes to the panel's index
(store.index: put, remove)."""
import os

from meldbox.core import cbor, cose
from meldbox.core.url import host_of
from meldbox.store.messages import key_hex

# [key, seq] of the newest EARLY_WITHDRAWS withdraws that came first, in the file `early`.
EARLY_WITHDRAWS = 64


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
    return None if rec is None else cbor.loads(cose.decode_sign1(rec["m"]).payload)


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
    store.index.put(key, deadline)
    for k, wseq in store.read_cbor(store.root + "/early", []):
        if k == key:                            # its withdraw came first: closed at once
            close(store, key, "withdrawn", wseq)
            return


def withdraw(store, key, seq):
    """A withdraw of `key`: closes it, or is remembered until the notice arrives."""
    if get(store, key) is not None:
        close(store, key, "withdrawn", seq)
        return
    early = store.read_cbor(store.root + "/early", [])
    if [key, seq] not in early:                 # apply runs again after a power cut
        early.append([key, seq])
        store.write_atomic(store.root + "/early", cbor.dumps(early[-EARLY_WITHDRAWS:]))


def close(store, key, state, seq, n=None):
    """An active notice leaves the list: its summary, in `state` as of receipt `seq`,
    moves from n/ to c/ (n: the summary when the caller has read it already)."""
    active = path(store, key)
    if n is None:
        n = store.read_cbor(active)
        if n is None:
            return
    n["state"], n["last"] = state, seq
    store.write_atomic(active, cbor.dumps(n))
    os.rename(active, path(store, key, "c"))
    store.index.remove(key)


def staff_receipt(store, key, kind, seq, fields):
    """A panel action's receipt: seen, cannot-comply (the countdown pauses), or resolved
    (removed, not-ours, disputed: the notice closes)."""
    active = path(store, key)
    n = store.read_cbor(active)
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
        store.index.remove(key)         # moves to the paused end of the list
        store.index.put(key, n["dl"], n["paused_left"])
    store.write_atomic(active, cbor.dumps(n))
