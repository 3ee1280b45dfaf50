"""Entry point of the simulated device: micropython sim_main.py STATE_DIR.

When started by `meldbox sim-device`, the firmware comes as a ROMFS image mapped into
the process (MELDBOX_ROMFS=address:length), so its bytecode costs no heap, as on the
board; without it, the modules are imported from source (MICROPYPATH).
"""
import os
import sys

_rom = os.getenv("MELDBOX_ROMFS")
if _rom:
    import uctypes
    import vfs

    _addr, _size = _rom.split(":")
    vfs.mount(vfs.VfsRom(uctypes.bytearray_at(int(_addr), int(_size))), "/rom")
    sys.path.insert(0, "/rom")

from meldbox import heap  # noqa: E402

def _has_serial_link(state_dir):
    import json
    with open(state_dir + "/sim.json") as f:
        return bool(json.load(f).get("serial"))


heap.reserve(serial=_has_serial_link(sys.argv[1]))   # first, while the heap is one piece
from meldbox.ui import font  # noqa: E402

font.preload()     # then the fonts, also long-lived and large

from boards.sim.board import SimBoard  # noqa: E402
from meldbox.app.main import run  # noqa: E402

run(SimBoard(sys.argv[1]))
