# heapsize: 256K
"""The protocol core on MicroPython: verify_message on a 1 KiB notice (the whole path:
COSE decode, alg/kid checks, Ed25519 verify, payload CBOR and claims), the share of the
path that is not the signature, receipts.build (deterministic CBOR + Ed25519 sign), and
the heap one verify_message needs."""
import gc

# Reserved before anything else, while the heap is still one free region: the heap
# measurement below needs a large contiguous hole, and building the Ed25519 base tables
# can leave a 256K heap in small pieces (measured once: largest free block about 3 KB).
RESERVE_BYTES = 40 * 1024
RESERVES = [bytearray(RESERVE_BYTES), bytearray(RESERVE_BYTES)]   # one per measurement

import json  # noqa: E402
import time  # noqa: E402

from meldbox.core import cbor, cose, ed25519, receipts  # noqa: E402
from meldbox.core.messages import parse_claims, verify_message  # noqa: E402
from meldbox.core.trust import TrustedKey, TrustStore  # noqa: E402

RUNS = 21
NOW = 1800000000
DEV = "nl.hoster-a.desk-1"
TARGET_BYTES = 1024


def report(name, value, unit, note):
    print("@@BENCH " + json.dumps({"name": name, "value": value, "unit": unit, "note": note}))


def median_ms(fn):
    times = []
    for _ in range(RUNS):
        gc.collect()
        t0 = time.ticks_us()
        fn()
        times.append(time.ticks_diff(time.ticks_us(), t0))
    times.sort()
    return times[len(times) // 2] / 1000


def notice_claims(n_items):
    items = [{"url": "https://files.example-hoster.nl/u/%05d/img-%04d.jpg" % (k * 37, k),
              "ip": "203.0.113.%d" % (k + 1), "sha256": bytes((k + j) & 0xFF for j in range(32))}
             for k in range(n_items)]
    return {"v": 1, "t": "notice", "id": bytes(range(16)), "iss": "nl.eokm", "aud": DEV,
            "iat": NOW - 600, "due": NOW + 86400, "cat": "csam", "basis": "NL NTD code",
            "ref": "EOKM-2026-04711", "items": items, "lang": "nl",
            "note": "Graag binnen 24 uur verwijderen."}


def one_kib_notice(key, kid):
    """A real notice grown by whole items until its COSE object reaches about 1 KiB."""
    n = 1
    raw = cose.sign1(cbor.dumps(notice_claims(n)), key, kid)
    while len(raw) < TARGET_BYTES:
        n += 1
        raw = cose.sign1(cbor.dumps(notice_claims(n)), key, kid)
    return raw, n


def _fill():
    """Take every block the allocator still has, large chunks first; returns the chain
    of (next, chunk) pairs that keeps them alive."""
    chain = None
    size = 1024
    while size >= 16:
        try:
            chain = (chain, bytearray(size))
        except MemoryError:
            size //= 2
    return chain


def fits_in(free_bytes, fn, slot):
    """True when fn() completes with only one free hole of `free_bytes` in the heap: that
    hole is taken from reserve `slot` (so it is contiguous), everything else is filled,
    then the hole is let go. None when the reserve is gone."""
    if RESERVES[slot] is None:
        return None
    RESERVES[slot] = None
    gc.collect()
    room = [bytearray(free_bytes)]
    ballast = _fill()
    room[0] = None
    gc.collect()
    try:
        fn()
        return True
    except Exception:   # MemoryError, or a verify that failed for want of memory
        return False
    finally:
        ballast = None
        gc.collect()
        try:
            RESERVES[slot] = bytearray(RESERVE_BYTES)
        except MemoryError:   # a failed run can leave a small object inside the hole
            pass


def peak_heap(fn, slot, step=256):
    """Least free heap (to `step` bytes) in which fn() completes: its peak live heap.
    Searched downwards from the reserve's size, so that only the last run fails.
    None when even the whole reserve is not enough."""
    size = RESERVE_BYTES
    if not fits_in(size, fn, slot):
        return None
    while size > step and fits_in(size - step, fn, slot):
        size -= step
    return size


def main():
    issuer = ed25519.SigningKey(bytes(range(32)))
    kid = cose.kid_of(issuer.public)
    trust = TrustStore([TrustedKey("nl.eokm", issuer.public)])
    raw, n_items = one_kib_notice(issuer, kid)

    def verify():
        msg = verify_message(raw, trust, DEV, NOW)
        assert msg.t == "notice"

    def no_signature():
        s = cose.decode_sign1(raw)
        cose.check_alg(s)
        parse_claims(cbor.loads(s.payload), NOW)

    verify()
    note = "%d-byte COSE object, %d items, median of %d runs" % (len(raw), n_items, RUNS)
    report("verify_message, 1 KiB notice", median_ms(verify), "ms", note)
    report("  of which not Ed25519 (COSE decode, alg, CBOR, claims)", median_ms(no_signature),
           "ms", note)

    dev = ed25519.SigningKey(bytes(range(32, 64)))
    dev_kid = cose.kid_of(dev.public)
    nh = bytes(32)

    def build():
        receipts.build(dev, dev_kid, DEV, 4711, nh, "delivered", NOW, "ntp", iss="nl.eokm",
                       nid=bytes(range(16)), nh=nh)

    build()
    report("receipts.build (delivered, signed)", median_ms(build), "ms",
           "median of %d runs" % RUNS)

    report("verify_message peak heap", peak_heap(verify, 0), "bytes",
           "least free heap in which one verify of the 1 KiB notice completes (ballast "
           "fills the rest; Ed25519 base tables already built)")
    report("  of which not Ed25519", peak_heap(no_signature, 1), "bytes",
           "the same without the signature check")


main()
