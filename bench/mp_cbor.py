# heapsize: 256K
"""CBOR on MicroPython: decoding a full notice payload (64 items with url, ip and sha256,
as PROTOCOL.md section 3) and encoding a receipt-sized map; median of RUNS runs each."""
import gc
import json
import time

from meldbox.core import cbor

RUNS = 31


def notice_payload():
    items = []
    for k in range(64):
        items.append({
            "url": "https://files.example-hoster.nl/u/%05d/a/img-%04d.jpg" % (k * 37, k * 11),
            "ip": "203.0.113.%d" % (k + 1),
            "sha256": bytes((k * 7 + j) & 0xFF for j in range(32)),
        })
    return {
        "v": 1, "t": "notice", "id": b"\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c",
        "iss": "nl.eokm", "aud": "nl.hoster-a.desk-1", "iat": 1767225600, "due": 1767312000,
        "cat": "csam", "basis": "NL NTD code", "ref": "EOKM-2026-004711", "items": items,
        "lang": "nl", "note": "Graag binnen 24 uur verwijderen; bewijs bewaren tot nader bericht.",
        "contact": "meldpunt@eokm.example", "nodisclose": True, "preserve": 1782864000,
    }


def receipt():
    return {
        "v": 1, "t": "receipt", "dev": "nl.hoster-a.desk-1", "seq": 4711,
        "prev": bytes(range(32)), "kind": "delivered", "iss": "nl.eokm",
        "nid": b"\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c", "nh": bytes(range(32, 64)),
        "at": 1767225612, "clock": "ntp",
    }


def median_us(fn, arg):
    times = []
    for _ in range(RUNS):
        gc.collect()
        t0 = time.ticks_us()
        fn(arg)
        times.append(time.ticks_diff(time.ticks_us(), t0))
    times.sort()
    return times[len(times) // 2]


def report(name, value, unit, note):
    print("@@BENCH " + json.dumps({"name": name, "value": value, "unit": unit, "note": note}))


def main():
    doc = cbor.dumps(notice_payload())
    assert cbor.loads(doc) == notice_payload()
    report("cbor.loads notice payload (64 items)", median_us(cbor.loads, doc) / 1000, "ms",
           "%d bytes, median of %d runs" % (len(doc), RUNS))
    rec = receipt()
    size = len(cbor.dumps(rec))
    report("cbor.dumps receipt map (12 keys)", median_us(cbor.dumps, rec) / 1000, "ms",
           "%d bytes, median of %d runs" % (size, RUNS))
    report("cbor.loads receipt map (12 keys)", median_us(cbor.loads, cbor.dumps(rec)) / 1000, "ms",
           "%d bytes, median of %d runs" % (size, RUNS))
    # Non-ASCII text leaves the C fast path for the byte-wise UTF-8 check.
    note = cbor.dumps(("Verwijder binnen \u00e9\u00e9n uur \u2013 \u0627\u0644\u0645\u062d\u062a\u0648\u0649 \U0001f6ab " * 10)[:280])
    report("cbor.loads 280-character non-ASCII note", median_us(cbor.loads, note) / 1000, "ms",
           "%d bytes of UTF-8, median of %d runs" % (len(note), RUNS))


main()
