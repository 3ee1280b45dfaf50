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

def _settings(state_dir):
    import json
    with open(state_dir + "/sim.json") as f:
        return json.load(f)


_sim = _settings(sys.argv[1])
_serial = bool(_sim.get("serial"))
heap.reserve(serial=_serial)   # first, while the heap is one piece
if _sim.get("fragment_heap"):
    heap.fragment(_sim["fragment_heap"])    # a test: boot on a heap full of holes
del _sim
from meldbox.ui import font  # noqa: E402

font.preload()     # then the fonts, also long-lived and large

# A module the app imports late (the simulator's control task) is imported now, while the heap is tidy: an import allocates its module's dict  # noqa: E501
# and names in one piece, which a heap of small holes may not have later. (Provisioning
# is imported by the app itself after a collection, meldbox/app/main.py.)
import boards.sim.control  # noqa: E402, F401
from boards.sim.board import SimBoard  # noqa: E402
from meldbox.app.main import run  # noqa: E402

run(SimBoard(sys.argv[1]))
