"""The firmware as a bare-metal MicroPython image for a Cortex-M board under QEMU.

    python firmware/build_mcu.py --src MICROPY_SRC [--out build/mcu]

Builds MicroPython's ports/qemu for the MPS3-AN547 board (Cortex-M55, see
hardware/README.md) out of tree: the MicroPython source is only read. The firmware is
frozen with the manifest.py that `make firmware` writes (firmware/build.py, same modules,
same mpy-cross, native code for the reference board's armv7emsp); MicroPython's
$(PORT_DIR) points at firmware/boards/qemu/port, whose boards/manifest.py adds asyncio and
the QEMU board's package, as a port's own manifest does. Result: OUT/firmware.elf and
OUT/build.json (board, heap, addresses the tests and benchmarks need).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

FIRMWARE = Path(__file__).resolve().parent
ROOT = FIRMWARE.parent
sys.path.insert(0, str(FIRMWARE))
import build as firmware_build  # noqa: E402  (firmware/build.py: `make firmware`)

PORT_DIR = FIRMWARE / "boards" / "qemu" / "port"
BOARD = "MPS3_AN547"
MACHINE = "mps3-an547"
# The GC heap: the budget the issue sets for the 32-bit build (boot and 500 active
# notices within 192 KiB), well under the reference board's (about 440 KiB).
HEAP_BYTES = 192 * 1024
# QEMU's AN547 maps DDR at 0x60000000; the board's RAM flash and the test data image
# sit there, outside the heap, as flash is on the RP2350. The port reads ROMFS
# partition 0 at 0x62000000 (its board file), where the tests load their data.
FLASH_ADDR = 0x60000000
ROMFS_ADDR = 0x62000000


def make_command(src, build_dir, manifest):
    config = PORT_DIR / "mpconfigport.h"
    cflags = "-DMP_CONFIGFILE=\\\"%s\\\"" % config
    return ["make", "-C", str(Path(src) / "ports" / "qemu"), "-j%d" % (os.cpu_count() or 1),
            "BOARD=" + BOARD,
            "BUILD=" + str(build_dir),
            "FROZEN_MANIFEST=" + str(manifest),
            "MICROPY_MANIFEST_PORT_DIR=" + str(PORT_DIR),
            "MICROPY_MPYCROSS=" + firmware_build.mpy_cross(),
            "MPY_CROSS_FLAGS=-march=" + march(),
            "MICROPY_VFS_LFS2=1",
            # single-precision floats, as the RP2350's MicroPython (and the port's
            # double-precision libm does not build with Debian's newlib)
            "MICROPY_FLOAT_IMPL=float",
            "MICROPY_HEAP_SIZE=%d" % HEAP_BYTES,
            "CFLAGS_EXTRA=" + cflags]


def march():
    return json.loads(firmware_build.PINS_JSON.read_text())["board"]["mpy_march"]


def main(argv=None):
    p = argparse.ArgumentParser(prog="firmware/build_mcu.py", description=__doc__.split("\n")[0])
    p.add_argument("--src", type=Path, required=True, help="MicroPython source (MICROPY_SRC)")
    p.add_argument("--out", type=Path, default=ROOT / "build" / "mcu")
    args = p.parse_args(argv)
    out = args.out.resolve()
    src = args.src.resolve()
    firmware_build.build(out / "firmware", march())          # what `make firmware` makes
    build_dir = out / ("build-" + BOARD)
    cmd = make_command(src, build_dir, out / "firmware" / "manifest.py")
    # MicroPython's make does not track its flags: start afresh when they change.
    args_file = build_dir / "make-args.txt"
    if build_dir.exists() and (not args_file.exists() or args_file.read_text() != repr(cmd)):
        shutil.rmtree(build_dir)
    build_dir.mkdir(parents=True, exist_ok=True)
    args_file.write_text(repr(cmd))
    done = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if done.returncode != 0:
        sys.stdout.write(done.stdout[-6000:])
        print("build_mcu: MicroPython build failed: %s" % " ".join(cmd), file=sys.stderr)
        return done.returncode
    elf = build_dir / "firmware.elf"
    info = {"board": BOARD, "machine": MACHINE, "heap_bytes": HEAP_BYTES,
            "flash_addr": FLASH_ADDR, "romfs_addr": ROMFS_ADDR, "march": march(),
            "micropython_src": str(src)}
    (out / "build.json").write_text(json.dumps(info, indent=1) + "\n")
    shutil.copy(elf, out / "firmware.elf")
    print("build_mcu: %s for %s, heap %d bytes" % (out / "firmware.elf", BOARD, HEAP_BYTES))
    return 0


if __name__ == "__main__":
    sys.exit(main())
