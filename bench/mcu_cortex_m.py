"""Cortex-M figures (docs/bench-results.md, "Cortex-M"): the firmware as frozen into
MicroPython's bare-metal ports/qemu image for the MPS3-AN547 board (Cortex-M55; built by
firmware/build_mcu.py, `make bench` builds it first), run under qemu-system-arm with
`-icount shift=0`. Every figure is a count of instructions executed (1 instruction = 1 ns
of guest time, read through time.ticks_us), not cycles: QEMU models no pipeline, wait
states or caches (hardware/README.md). The on-target half is bench/cortex_m_target.py;
notices and keys are made here with the host tools (cryptography)."""
import argparse
import json
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.mcu import qemu  # noqa: E402

ACTIVE = 500
FRESH_KEYS = 5
BLOCK_BYTES = 16     # a GC block on a 32-bit port


def data(active=ACTIVE):
    from meldbox_host import protocol
    from tests.host.e2e import DEV
    from tests.host.golden import EOKM, HOUR, T0, notice
    vectors = json.loads((ROOT / "tests" / "data" / "notices.json").read_text())
    items64 = next(c for c in vectors["notices"] if c["name"] == "64 items with note and lang")
    msg = bytes((i * 7) & 255 for i in range(1024))
    fresh, sigs = [], b""
    for i in range(FRESH_KEYS):
        key = protocol.private_key_of(bytes([100 + i]) * 32)
        fresh.append(key.public_key().public_bytes_raw().hex())
        sigs += key.sign(msg)
    # a notice of about 1 KiB: a few URLs
    one_k = notice(EOKM, 200, ref="EOKM-BENCH-1K", due=T0 + HOUR,
                   urls=["https://files.example.net/u/%d/%s.jpg" % (i, "b" * 120) for i in range(6)])[0]
    many = b""
    for n in range(active):
        cose = _numbered(protocol, EOKM, DEV, T0, n)
        many += len(cose).to_bytes(2, "big") + cose
    meta = {"clock_at": T0, "fresh": fresh,
            "provisioning": {"dev": DEV, "trust": [{"iss": EOKM.iss, "key": EOKM.public.hex()}]}}
    return {"bench.json": json.dumps(meta).encode(), "sig_new.bin": sigs,
            "items64.bin": bytes.fromhex(items64["cose"]), "notice1k.bin": one_k,
            "many.bin": many}


def _numbered(protocol, key, dev, t0, n):
    claims = protocol.build_notice(key.iss, dev, ["https://files.example.net/m/%d.jpg" % n],
                                   id=n.to_bytes(16, "big"), iat=t0 - 600, cat="csam",
                                   basis="NL NTD code", ref="EOKM-2027-%05d" % n,
                                   due=t0 + 2 * 3600 + n)
    return protocol.sign(claims, key.private_key)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--active", type=int, default=ACTIVE,
                        help="notices taken in for the heap figures (default %(default)s; "
                             "each one is a full intake, so this sets the run time)")
    active = parser.parse_args().active
    with tempfile.TemporaryDirectory() as tmp:
        files = qemu.target_files("mcu_device", data=data(active))
        files["cortex_m_target.py"] = (ROOT / "bench" / "cortex_m_target.py").read_bytes()
        image = qemu.romfs(files, Path(tmp) / "bench.romfs")
        target = qemu.Qemu(image, workdir=tmp)
        try:
            out, err = target.run(qemu.boot_code("cortex_m_target"), timeout=3600)
        finally:
            target.close()
    sys.stdout.write("".join(line + "\n" for line in out.splitlines()
                             if line.startswith("@@BENCH ")))
    m = re.search(r"max free sz: (\d+)", out.split("@@MEMINFO", 1)[-1])
    if m:
        print("@@BENCH " + json.dumps({
            "name": "largest free block with %d active notices" % (active + 1),
            "value": int(m.group(1)) * BLOCK_BYTES, "unit": "bytes",
            "note": "micropython.mem_info() max free sz, after a collection"}))
    if err.strip() or "@@MEMINFO" not in out:
        sys.stderr.write(out[-3000:] + err)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
