"""Opening the store at boot: what runs once, after the log is replayed (store/store.py).
A torn tail is cut off, the panel's index is read from its journal (store/active.py) or
rebuilt from the active notices' files, the outbox is counted. Needed only at boot: the
app unloads this module once the store is open."""
import os
import struct
from binascii import unhexlify

from meldbox.store import active, messages
from meldbox.store.store import Store, copy


def open_store(root, index, **layout):
    store = Store(root, index, **layout)    # replays the log
    cut_torn_tail(store)
    index_message_files(store)
    if active.load(store):          # the journal agrees with n/: no file opened
        active.tidy(store)
    else:                           # no journal yet, or it disagrees: from the files
        for entry in os.ilistdir(root + "/n"):
            n = store.read_cbor("%s/n/%s" % (root, entry[0]))
            if n is not None:
                index.put(n["key"], n["dl"],
                          n.get("paused_left") if n["state"] == "cannot-comply" else None)
        active.rewrite(store)
    store.outbox_len = 0            # the replay's count is redone below, from the names
    for entry in os.ilistdir(root + "/o"):
        store.outbox_len += sum(1 for _ in os.ilistdir("%s/o/%s" % (root, entry[0])))
    return store


def index_message_files(store):
    """A store from firmware before the message index kept a file per message, m/KEY
    ({"t", "nh", "seq"}): their seqs go into the index, then the files and folder go."""
    folder = store.root + "/m"
    try:
        names = [e[0] for e in os.ilistdir(folder)]
    except OSError:
        return
    for name in names:
        m = store.read_cbor("%s/%s" % (folder, name))
        if m is not None and messages.find(store, unhexlify(name)) is None:
            messages.put(store, unhexlify(name), m["seq"])
        os.remove("%s/%s" % (folder, name))
    os.rmdir(folder)


def cut_torn_tail(store):
    """After replay every whole record is applied: bytes after the last one in the
    current segment are a failed append. Rewrite the segment without them, so the
    next record is appended where readers look for it."""
    path = store.segment(store.seq + 1)
    try:
        size = os.stat(path)[6]
    except OSError:
        return
    end = 0
    header = bytearray(8)
    with open(path, "rb") as f:
        while f.readinto(header) == 8:
            rseq, length = struct.unpack("<II", header)
            if rseq > store.seq or end + 8 + length > size:
                break
            end += 8 + length
            f.seek(end)
    if end == size:
        return
    store.torn_tail = size - end
    buf = bytearray(256)
    with open(path, "rb") as src, open(store.tmp, "wb") as dst:
        copy(src, dst, end, buf)
    os.rename(store.tmp, path)
    store.forget_offsets()
