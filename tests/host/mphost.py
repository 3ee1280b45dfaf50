"""Run a snippet of MicroPython code on the real unix port from a CPython test, with
the firmware on its path. Used by cross-check tests that compare firmware modules
(running on MicroPython) with host libraries (running on CPython)."""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MICROPYTHON = Path(sys.executable).with_name("micropython")


def run(code, data=None, heap="256K", timeout=600, extra_paths=()):
    """Run `code` under micropython, with the firmware and `extra_paths` on its path.
    If `data` (bytes) is given, the code can read it from the file named by sys.argv[1].
    Returns stdout; raises on a non-zero exit."""
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "snippet.py"
        script.write_text(code)
        args = [str(MICROPYTHON), "-X", "heapsize=" + heap, str(script)]
        if data is not None:
            datafile = Path(tmp) / "data.bin"
            datafile.write_bytes(data)
            args.append(str(datafile))
        paths = [str(p) for p in extra_paths] + [str(ROOT / "firmware"), ".frozen"]
        env = dict(os.environ, MICROPYPATH=os.pathsep.join(paths))
        proc = subprocess.run(
            args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
        )
    if proc.returncode != 0:
        raise RuntimeError(
            "micropython failed (%d):\n%s%s" % (proc.returncode, proc.stdout, proc.stderr)
        )
    return proc.stdout
