"""`make bench`: run every benchmark and write docs/bench-results.md.

bench/mp_*.py run on the MicroPython unix port (the firmware on MICROPYPATH; a
`# heapsize: N` line sets the heap), bench/host_*.py on CPython, bench/mcu_*.py on CPython
driving the Cortex-M image under QEMU (their section is headed "Cortex-M"). Each prints lines
`@@BENCH {"name": ..., "value": ..., "unit": ..., "note": ...}`; the table keeps them in
file order, with the date and the machine, so that figures are compared like with like.
"""
import datetime
import json
import os
import platform
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
OUT = ROOT / "docs" / "bench-results.md"
MICROPYTHON = Path(sys.executable).with_name("micropython")
MARK = "@@BENCH "


def machine():
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mp = subprocess.run([str(MICROPYTHON), "-c", "import sys; print(sys.version)"],
                        capture_output=True, text=True).stdout.strip()
    return "%s, %d cores, %s %s; CPython %s; MicroPython %s" % (
        cpu, os.cpu_count(), platform.system(), platform.release(), platform.python_version(), mp)


def run_one(path):
    env = dict(os.environ, MICROPYPATH=os.pathsep.join([str(ROOT / "firmware"), ".frozen"]))
    if path.name.startswith("mp_"):
        m = re.search(r"^# heapsize: (\w+)", path.read_text(), re.M)
        cmd = [str(MICROPYTHON), "-X", "heapsize=" + (m.group(1) if m else "256K"), str(path)]
    else:
        cmd = [sys.executable, str(path)]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    rows = []
    for line in proc.stdout.splitlines():
        if line.startswith(MARK):
            rows.append(json.loads(line[len(MARK):]))
    if proc.returncode != 0:
        rows.append({"name": path.name, "value": "FAILED", "unit": "",
                     "note": (proc.stderr.strip().splitlines() or ["exit %d" % proc.returncode])[-1]})
    return rows


def main(argv):
    only = argv[1:]
    files = sorted(p for p in BENCH.glob("*.py") if p.name.startswith(("mp_", "host_", "mcu_")))
    if only:
        files = [p for p in files if any(o in p.name for o in only)]
    lines = ["# Benchmark results", "",
             "Written by `make bench` (bench/run.py) on %s UTC." % datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M"),
             "", "Machine: %s." % machine(), "",
             "Medians unless said otherwise; the machine is shared and noisy, so compare ratios",
             "within one run rather than absolute times across runs.", ""]
    failed = False
    for path in files:
        print("running", path.name, flush=True)
        rows = run_one(path)
        title = ("Cortex-M (QEMU, instructions): " if path.name.startswith("mcu_") else "") + path.name
        lines += ["## %s" % title, "", "| measure | value | unit | note |", "|---|---|---|---|"]
        for r in rows:
            failed |= r["value"] == "FAILED"
            value = r["value"]
            if isinstance(value, float):
                value = "%.3g" % value if abs(value) < 100 else "%.0f" % value
            lines.append("| %s | %s | %s | %s |" % (r["name"], value, r.get("unit", ""), r.get("note", "")))
            print("  %-40s %s %s" % (r["name"], value, r.get("unit", "")))
        lines.append("")
    OUT.write_text("\n".join(lines) + "\n")
    print("wrote", OUT.relative_to(ROOT))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
