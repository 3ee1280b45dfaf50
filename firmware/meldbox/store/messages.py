"""The message index on flash: m/KEY for every message taken in, {"t", "nh", "seq"}
(idempotency, PROTOCOL.md 4.09). One flat folder: in littlefs every folder costs two 4 KiB
blocks of metadata, while small files live inline in their folder's metadata."""
from binascii import hexlify
from hashlib import sha256

from meldbox.core import cbor


def message_key(iss, mid):
    """8-byte identity of (issuer, message id); file names never contain peer text."""
    return sha256(iss.encode() + b"\x00" + bytes(mid)).digest()[:8]


def key_hex(key):
    return hexlify(key).decode()


def put_message(store, key, t, nh, seq):
    store.write_atomic("%s/m/%s" % (store.root, key_hex(key)),
                       cbor.dumps({"t": t, "nh": nh, "seq": seq}))


def message(store, iss, mid):
    """{"t", "nh", "seq"} of a message taken in before, or None."""
    return store.read_cbor("%s/m/%s" % (store.root, key_hex(message_key(iss, mid))))
