"""The message index on flash: at which log seq each message (issuer, id) was taken in
(idempotency, PROTOCOL.md 4.09), and which receipt closed a notice whose summary is packed
(store/notices.py). BUCKETS files x/0 .. x/7, by the top 3 bits of the key, of
12-byte entries: the 8-byte key and the seq (u32 LE), CLOSED set for a closing receipt.
A file per message cost about 550 bytes of littlefs metadata; a bucket keeps 340 entries
in each 4 KiB block (the first 21 inline in its folder's metadata). Entries are appended
(a power cut between append and head may append one twice: the first counts); retention
rewrites a bucket without the entries of pruned records."""
import os
import struct
from binascii import hexlify
from hashlib import sha256

from meldbox.core import receipts

ENTRY = 12
BUCKETS = 8     # fixed cost 8 blocks once out of inline; a lookup reads 1/8 of the index
CLOSED = 0x80000000
KIND_TYPE = {"delivered": "notice", "withdrawn": "withdraw", "status": "ping"}

# One chunk of a bucket at a time (a bucket may be several KiB): reused, never grown.
_chunk = bytearray(ENTRY * 32)


def message_key(iss, mid):
    """8-byte identity of (issuer, message id); file names never contain peer text."""
    return sha256(iss.encode() + b"\x00" + bytes(mid)).digest()[:8]


def key_hex(key):
    return hexlify(key).decode()


def bucket(store, key):
    return "%s/x/%d" % (store.root, key[0] * BUCKETS >> 8)


def put(store, key, seq):
    with open(bucket(store, key), "ab") as f:
        f.write(key)
        f.write(struct.pack("<I", seq))


def find(store, key, closed=False):
    """The seq of the message `key` (closed: of the receipt that closed that notice,
    once packed), or None."""
    want = CLOSED if closed else 0
    try:
        f = open(bucket(store, key), "rb")
    except OSError:
        return None
    with f:
        while True:
            n = f.readinto(_chunk)
            if not n:
                return None
            at = _chunk.find(key)
            while 0 <= at and at + ENTRY <= n:
                if at % ENTRY == 0:
                    seq = struct.unpack_from("<I", _chunk, at + 8)[0]
                    if seq & CLOSED == want:
                        return seq & ~CLOSED
                at = _chunk.find(key, at + 1)


def prune(store, pseq):
    """Drop the entries of records up to pseq (retention: their segments go)."""
    for b in range(BUCKETS):
        path = "%s/x/%d" % (store.root, b)
        try:
            src = open(path, "rb")
        except OSError:
            continue
        kept = dropped = 0
        with src, open(store.tmp, "wb") as dst:
            while True:
                n = src.readinto(_chunk)
                if not n:
                    break
                for at in range(0, n - ENTRY + 1, ENTRY):
                    if struct.unpack_from("<I", _chunk, at + 8)[0] & ~CLOSED > pseq:
                        dst.write(memoryview(_chunk)[at:at + ENTRY])
                        kept += 1
                    else:
                        dropped += 1
        if not dropped:
            os.remove(store.tmp)
        elif kept:
            os.rename(store.tmp, path)
        else:
            os.remove(store.tmp)
            os.remove(path)


def message(store, iss, mid):
    """{"t", "nh", "seq", "receipt"} of a message taken in before, or None (t and nh are
    read from its receipt, which is returned too: a duplicate is answered with it)."""
    seq = find(store, message_key(iss, mid))
    if seq is None:
        return None
    receipt = store.receipt(seq)
    if receipt is None:
        return None
    fields = receipts.decode(receipt)
    return {"t": KIND_TYPE.get(fields["kind"]), "nh": fields.get("nh"), "seq": seq,
            "receipt": receipt}
