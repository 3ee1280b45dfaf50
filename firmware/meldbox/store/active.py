"""The panel's index of active notices (store.index: key, deadline, paused time left), kept
on flash as a journal, so that boot need not open every n/ file: on a year's store that
took half a second for 175 active notices (each open walks the folder's metadata).

The file `active` holds 16-byte entries: the key (8 bytes), the deadline (u32) and the
time left when paused (i32; NOT_PAUSED when running, GONE when the notice left the list).
Each change of the index appends one, in the same apply as the n/ file it mirrors (an
apply cut short runs again at boot). At boot the journal is replayed, then checked against
the names in n/ (the keys): if they differ in any way, the index is rebuilt from the
files as before and the journal written anew. Compaction rewrites it when it holds more
than twice the active entries. Functions of the store (store/store.py)."""
import os
import struct
from binascii import unhexlify

ENTRY = "<8sIi"
SIZE = 16
NOT_PAUSED = 0x7FFFFFFF
GONE = -0x80000000
PAUSED_LIMIT = 0x7FFFFFF0
SLACK = 64                  # entries beyond twice the active ones before a rewrite

_entry = bytearray(SIZE)
_chunk = bytearray(SIZE * 32)


def _path(store):
    return store.root + "/active"


def _pack(key, deadline, paused):
    struct.pack_into(ENTRY, _entry, 0, key, min(deadline, 0xFFFFFFFF), paused)
    return _entry


def _append(store, key, deadline, paused):
    store.charge(SIZE)
    with open(_path(store), "ab") as f:
        f.write(_pack(key, deadline, paused))
    store.active_entries += 1


def put(store, key, deadline, paused_left=None):
    """The notice is on the list (running, or paused with paused_left seconds left),
    in place of what the list held for it."""
    index = store.index
    index.remove(key)
    index.put(key, deadline, paused_left)
    if paused_left is None:
        paused = NOT_PAUSED
    else:
        paused = max(-PAUSED_LIMIT, min(paused_left, PAUSED_LIMIT))
    _append(store, key, deadline, paused)


def remove(store, key):
    store.index.remove(key)
    _append(store, key, 0, GONE)


def load(store):
    """Replay the journal into store.index; True when it agrees with the names in n/ (the
    active notices' keys), else the index is left empty for a rebuild from the files."""
    index = store.index
    index.count = 0
    entries = 0
    try:
        f = open(_path(store), "rb")
    except OSError:
        return False
    with f:
        while True:
            n = f.readinto(_chunk)
            if not n:
                break
            for at in range(0, n - SIZE + 1, SIZE):
                key, deadline, paused = struct.unpack_from(ENTRY, _chunk, at)
                index.remove(key)
                if paused != GONE:
                    index.put(key, deadline, None if paused == NOT_PAUSED else paused)
                entries += 1
    store.active_entries = entries
    files = 0
    for entry in os.ilistdir(store.root + "/n"):
        files += 1
        if index.position(unhexlify(entry[0])) < 0:
            files = -1
            break
    if files != index.count:
        index.count = 0
        return False
    return True


def rewrite(store):
    """The journal anew, one entry per active notice (atomic: renamed into place)."""
    index = store.index
    store.charge(index.count * SIZE)
    with open(store.tmp, "wb") as f:
        for i in range(index.count):
            key, deadline, paused = index.entry(i)
            f.write(_pack(key, deadline, NOT_PAUSED if paused is None else paused))
    os.rename(store.tmp, _path(store))
    store.active_entries = index.count


def tidy(store):
    """Rewrite the journal once it is more than twice as long as the list (and SLACK)."""
    if store.active_entries > 2 * store.index.count + SLACK:
        rewrite(store)
