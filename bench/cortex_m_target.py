"""On-target half of bench/mcu_cortex_m.py (runs on the QEMU Cortex-M board, see there).
QEMU runs with -icount shift=0: one instruction is one nanosecond of guest time, so the
guest's time.ticks_us() advances by one per 1000 instructions; figures are instructions.
Data: /rom/bench.json, /rom/notice1k.bin (1 KiB notice), /rom/items64.bin (a 64-item
notice), /rom/sig_new.bin (signatures by fresh keys), /rom/many.bin (notices for the
500-notice run, each prefixed by its 2-byte length)."""
import asyncio
import gc
import json
import time

import micropython
from mcu_device import Device, decode, encode


def _read(name):
    with open("/rom/" + name, "rb") as f:
        return f.read()


def report(name, value, unit, note):
    print("@@BENCH " + json.dumps({"name": name, "value": value, "unit": unit, "note": note}))


def minsns(fn, runs):
    """Median of `runs` calls, in millions of instructions."""
    times = []
    for _ in range(runs):
        t0 = time.ticks_us()
        fn()
        times.append(time.ticks_diff(time.ticks_us(), t0))
    times.sort()
    return times[len(times) // 2] / 1000


async def scenario(report_unused):
    B = json.loads(_read("bench.json"))
    gc.collect()
    dev = Device(provisioning=B["provisioning"], clock_at=B["clock_at"], rtc_trusted=True)
    await dev.start()
    app = dev.app
    gc.collect()
    report("heap in use after boot", gc.mem_alloc(), "bytes",
           "App up, panel drawn, after a collection; heap %d bytes" % (gc.mem_alloc() + gc.mem_free()))

    from meldbox.core import cbor, cose, ed25519, sha512
    msg = bytes((i * 7) & 255 for i in range(1024))
    key = ed25519.SigningKey(bytes(range(32)))
    sig = key.sign(msg)
    pub = key.public
    for _ in range(3):                  # a known issuer: its tables are made and cached
        assert ed25519.verify(pub, msg, sig)
    report("Ed25519 verify, 1 KiB, cached key", minsns(lambda: ed25519.verify(pub, msg, sig), 5),
           "M instructions", "median of 5; key tables cached (an issuer seen before)")
    fresh = B["fresh"]
    sigs = _read("sig_new.bin")
    it = iter(range(len(fresh)))

    def verify_new():
        i = next(it)
        assert ed25519.verify(bytes.fromhex(fresh[i]), msg, sigs[64 * i:64 * i + 64])
    report("Ed25519 verify, 1 KiB, new key", minsns(verify_new, len(fresh)), "M instructions",
           "median of %d keys never seen before (decode + table)" % len(fresh))
    report("Ed25519 sign, 1 KiB", minsns(lambda: key.sign(msg), 3), "M instructions",
           "median of 3")
    report("SHA-512 of 1 KiB", minsns(lambda: sha512.sha512(msg).digest(), 5), "M instructions",
           "median of 5; %s path" % ("viper" if sha512._VIPER else "portable"))
    payload = cose.decode_sign1(_read("items64.bin")).payload
    report("CBOR decode, 64-item notice", minsns(lambda: cbor.loads(payload), 5),
           "M instructions", "median of 5; payload %d bytes" % len(payload))

    # one whole intake: the datagram in, the 2.01 with its receipt out
    notice = _read("notice1k.bin")
    dg = encode(0, 2, 0x7777, b"\x01", [(11, b"notices"), (12, b"\x12")], notice)
    sock = dev.sock
    t0 = time.ticks_us()
    sock.deliver(dg, ("10.0.0.9", 40000))
    while True:
        got = sock.take(("10.0.0.9", 40000))
        if got is not None:
            break
        await asyncio.sleep_ms(0)
    spent = time.ticks_diff(time.ticks_us(), t0)
    assert decode(got[0])[0] == "2.01", decode(got[0])[0]
    report("one intake, datagram to receipt", spent / 1000, "M instructions",
           "%d-byte notice, known issuer: CoAP, verify, decode, littlefs commit, receipt, "
           "panel notified" % len(notice))

    panel = app.panel
    report("full panel redraw", minsns(panel.redraw, 3), "M instructions",
           "median of 3; list screen, 320x240 through the 4-bit band")

    # 500 active notices, then the heap
    n = 0
    with open("/rom/many.bin", "rb") as f:      # one notice at a time: the file is ~300 KB
        while True:
            head = f.read(2)
            if not head:
                break
            raw = f.read((head[0] << 8) | head[1])
            code, _ = await dev.request(raw)
            if code != "2.01":
                report("500 active notices", "FAILED", "", "notice %d: %s" % (n, code))
                return
            n += 1
            if n % 100 == 0:
                gc.collect()
                report("heap in use with %d active notices" % app.index.count,
                       gc.mem_alloc(), "bytes", "after a collection")
    await app.settle()
    gc.collect()
    print("@@MEMINFO")          # the host reads `max free sz` (in 16-byte blocks) from it
    micropython.mem_info()
    dev.stop()
