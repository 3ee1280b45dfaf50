# heapsize: 1M
"""SHA-512 and Ed25519 on MicroPython (meldbox.core.sha512, meldbox.core.ed25519):
medians of verify (1 KiB message, with the issuer key's table cached and without),
sign (a receipt-sized message), verify on the big-integer path, SHA-512
of 1 KiB on its three compression paths, the one-time
cost of the base-point tables, and the heap one verify needs. bench/crypto-notes.md
explains the figures; bench/host_crypto.py measures cryptography's verify beside it.
The heap is the simulator's (1M): a smaller heap collects more often (about 20% slower
at 64K)."""
import gc

# Reserved first, while the heap is one free region: the heap measurement needs one
# large contiguous hole, which later allocations would leave in pieces.
RESERVE_BYTES = 40 * 1024
RESERVE = [bytearray(RESERVE_BYTES)]

import json  # noqa: E402
import time  # noqa: E402

t0 = time.ticks_us()
from meldbox.core import ed25519, sha512, sha512_w32  # noqa: E402

IMPORT_MS = time.ticks_diff(time.ticks_us(), t0) / 1000

RUNS = 31
SEED = bytes(range(32))
MESSAGE = bytes((i * 7) & 255 for i in range(1024))  # bench/host_crypto.py uses the same


def report(name, value, unit, note):
    print("@@BENCH " + json.dumps({"name": name, "value": value, "unit": unit, "note": note}))


def median_ms(fn, runs=RUNS):
    times = []
    for _ in range(runs):
        t0 = time.ticks_us()
        fn()
        times.append(time.ticks_diff(time.ticks_us(), t0))
    times.sort()
    return times[len(times) // 2] / 1000


def _fill():
    # Takes every block the allocator still has, large chunks first; the chain of
    # (next, chunk) pairs keeps them alive.
    chain = None
    size = 1024
    while size >= 16:
        try:
            chain = (chain, bytearray(size))
        except MemoryError:
            size //= 2
    return chain


def fits_in(free_bytes, fn):
    # True when fn() completes with only one free hole of free_bytes in the heap: the
    # hole comes out of the reserve (so it is one piece), everything else is filled.
    # None when no block of the reserve's size is left (an object left inside the hole
    # by a failed run, and no other hole as large).
    if RESERVE[0] is None:
        try:
            RESERVE[0] = bytearray(RESERVE_BYTES)
        except MemoryError:
            return None
    RESERVE[0] = None
    gc.collect()
    hole = [bytearray(free_bytes)]
    ballast = _fill()
    hole[0] = None
    gc.collect()
    try:
        fn()
        return True
    except MemoryError:
        return False
    finally:
        ballast = None  # noqa: F841
        _scrub_stack()
        gc.collect()
        try:
            RESERVE[0] = bytearray(RESERVE_BYTES)
        except MemoryError:
            pass


def _scrub_stack(depth=40):
    # The GC is conservative: a stale pointer left in a C stack slot keeps an object
    # (inside the hole) alive. Deep calls overwrite those slots before collecting.
    if depth:
        _scrub_stack(depth - 1)


def peak_heap(fn, step=256):
    # Least free heap (to `step` bytes) in which fn() completes: its peak live heap,
    # fragmentation included. Searched downwards, so that only the last run fails.
    size = RESERVE_BYTES
    if not fits_in(size, fn):
        return None
    while size > step and fits_in(size - step, fn):
        size -= step
    return size


def main():
    t0 = time.ticks_us()
    key = ed25519.SigningKey(SEED)
    first_ms = time.ticks_diff(time.ticks_us(), t0) / 1000
    signature = key.sign(MESSAGE)
    # Three keys take turns against a cache of two: every verify then decodes its key.
    others = [ed25519.SigningKey(bytes([i]) * 32) for i in (1, 2, 3)]
    other_sigs = [k.sign(MESSAGE) for k in others]
    turn = [0]

    def verify():
        assert ed25519.verify(key.public, MESSAGE, signature)

    def verify_new_key():
        i = turn[0] = (turn[0] + 1) % 3
        assert ed25519.verify(others[i].public, MESSAGE, other_sigs[i])

    receipt = MESSAGE[:200]

    verify()
    report("Ed25519 verify, 1 KiB message", median_ms(verify), "ms",
           "key's table cached (the usual case: a few trusted issuer keys); median of %d" % RUNS)
    report("Ed25519 verify, 1 KiB message, new key", median_ms(verify_new_key), "ms",
           "key decoded and its table built each time; median of %d" % RUNS)
    report("Ed25519 sign, 200-byte message", median_ms(lambda: key.sign(receipt)), "ms",
           "median of %d" % RUNS)
    # The default (ed25519.py) is the viper path of the Cortex-M boards; the other one:
    w32, ed25519._W32 = ed25519._W32, None
    try:
        verify()
        report("Ed25519 verify, 1 KiB message, big-integer path", median_ms(verify), "ms",
               "ed25519.py's own loop on ints (builds without viper), key cached; "
               "median of %d" % RUNS)
    finally:
        ed25519._W32 = w32
    report("SHA-512, 1 KiB", median_ms(lambda: sha512.digest(MESSAGE)), "ms",
           "viper path (64-bit build); median of %d" % RUNS)
    report("SHA-512, 1 KiB, viper on 32-bit halves",
           median_ms(lambda: sha512.sha512(MESSAGE, _fast=sha512_w32.compress).digest()),
           "ms", "the path of 32-bit boards, here on 64-bit words; median of %d" % RUNS)
    report("SHA-512, 1 KiB, portable path", median_ms(lambda: sha512.sha512(MESSAGE, _fast=None).digest(), 11),
           "ms", "the Python-integer path (CPython, builds without viper); median of 11")
    report("Ed25519 first use (builds B tables) + key", first_ms, "ms",
           "once per boot: the two 32-entry base-point tables, then one key derivation")
    report("import sha512 + ed25519 from source", IMPORT_MS, "ms", "compilation on the unix port")
    verify()  # the rotation above pushed this key out of the cache: back in, with its tables
    verify()
    report("Ed25519 verify peak heap", peak_heap(verify), "bytes",
           "least free heap in which one cached-key verify of 1 KiB completes (ballast fills the "
           "rest of the heap; tables already built)")
    report("Ed25519 sign peak heap", peak_heap(lambda: key.sign(receipt)), "bytes",
           "least free heap in which one signature of 200 bytes completes")

    def verify_new_key_uncached():
        # The new key's table goes into the cache; emptied after each run, so that no
        # long-lived object is left inside the measured hole.
        try:
            verify_new_key()
        finally:
            del ed25519._cache[:]

    report("Ed25519 verify peak heap, new key", peak_heap(verify_new_key_uncached), "bytes",
           "the same when the key is decoded and its table built")


main()
