"""The firmware as a ROMFS image for the simulator, as on the board.

On the reference board the firmware's bytecode sits in flash (frozen or in a ROMFS
partition) and costs no heap. The unix port would otherwise compile every module into
its GC heap, so the simulator builds the same kind of image: each module compiled by
mpy-cross (for x64, so that @micropython.native code runs) and packed by mpremote's
ROMFS builder. `launch.py` maps it into the device process; `firmware/sim_main.py`
mounts it with vfs.VfsRom. The image is rebuilt only when a source file changed.
"""

import contextlib
import hashlib
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

from meldbox_host.sim.paths import FIRMWARE, MICROPYTHON, REPO

PACKAGES = ("meldbox", "boards/sim")
BUILD = REPO / "build" / "sim"
MPY_CROSS = MICROPYTHON.with_name("mpy-cross")
ARCH = {"x86_64": "x64", "AMD64": "x64", "aarch64": "aarch64", "arm64": "aarch64"}


def sources():
    yield FIRMWARE / "boards" / "__init__.py"
    for package in PACKAGES:
        for path in sorted((FIRMWARE / package).rglob("*.py")):
            if "__pycache__" not in path.parts:
                yield path


def fingerprint(files):
    h = hashlib.sha256()
    for path in files:
        st = path.stat()
        h.update(
            b"%s\0%d\0%d\0"
            % (str(path.relative_to(FIRMWARE)).encode(), st.st_size, st.st_mtime_ns)
        )
    return h.hexdigest()[:16]


def image(out_dir=BUILD):
    """Path of an up-to-date ROMFS image of the firmware (built if needed)."""
    from mpremote.romfs import make_romfs

    files = list(sources())
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / ("firmware-%s.romfs" % fingerprint(files))
    if target.exists():
        return target
    march = ARCH.get(platform.machine())
    with tempfile.TemporaryDirectory(dir=out_dir) as staging:
        for path in files:
            rel = path.relative_to(FIRMWARE)
            out = Path(staging) / rel.with_suffix(".mpy")
            out.parent.mkdir(parents=True, exist_ok=True)
            cmd = [str(MPY_CROSS), "-o", str(out), "-s", str(rel)]
            if march:
                cmd.insert(1, "-march=" + march)
            subprocess.run(cmd + [str(path)], check=True, capture_output=True, text=True)
        with contextlib.redirect_stdout(sys.stderr):  # its listing is not our output
            data = make_romfs(staging, mpy_cross=False)
    tmp = target.with_suffix(".tmp%d" % os.getpid())
    tmp.write_bytes(data)
    os.replace(tmp, target)
    for old in out_dir.glob("firmware-*.romfs"):
        if old != target:
            old.unlink(missing_ok=True)
    return target
