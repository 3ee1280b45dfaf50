"""The outbox on flash: o/IH/SEQ, an empty file per receipt not yet acknowledged by its
issuer, a folder per issuer (IH: 4 bytes of SHA-256 of its name, in hex), so delivery
(app/outbox.py) finds an issuer's oldest receipt from the names alone. Functions of the
store (store/store.py); store.outbox_len counts the markers."""
import os
from binascii import hexlify
from hashlib import sha256

from meldbox.core import receipts


def folder(store, iss):
    return "%s/o/%s" % (store.root, hexlify(sha256(iss.encode()).digest()[:4]).decode())


def add(store, iss, seq):
    where = folder(store, iss)
    path = "%s/%d" % (where, seq)
    try:
        os.stat(path)
        return                      # apply runs again after a power cut
    except OSError:
        pass
    # An empty file is made in one metadata commit, whole or not at all: no temporary file
    # and rename (which cost a commit more, at every receipt).
    store.charge(0)
    try:
        f = open(path, "wb")
    except OSError:                 # the issuer's first receipt: its folder first
        os.mkdir(where)
        f = open(path, "wb")
    f.close()
    store.outbox_len += 1


def oldest(store, iss, n=16):
    """Up to n sequence numbers of receipts to `iss` not yet acknowledged, oldest
    first (memory bounded by n, whatever the length of the outbox)."""
    found = []
    try:
        names = os.ilistdir(folder(store, iss))
    except OSError:
        return found
    for entry in names:
        seq = int(entry[0])
        if len(found) < n or seq < found[-1]:
            i = len(found)
            while i and found[i - 1] > seq:
                i -= 1
            found.insert(i, seq)
            if len(found) > n:
                found.pop()
    return found


def acknowledged(store, seq, iss=None):
    """The issuer acknowledged receipt `seq` (without `iss`: looked up, slower)."""
    if iss is None:
        rec = store.record(seq)
        if rec is None:
            return
        iss = receipts.decode(rec["r"]).get("iss")
        if iss is None:
            return
    try:
        os.remove("%s/%d" % (folder(store, iss), seq))
        store.outbox_len -= 1
    except OSError:
        pass
