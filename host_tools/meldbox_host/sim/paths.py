"""Where the firmware and the micropython command are, seen from the host tools."""
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
FIRMWARE = REPO / "firmware"
import os as _os
SIM_MAIN = FIRMWARE / _os.environ.get("MELDBOX_SIM_MAIN", "sim_main.py")
MICROPYTHON = Path(sys.executable).with_name("micropython")
# The reference board leaves about 440 KiB to MicroPython (hardware/README.md); the aim is
# min(that, 256K). On this 64-bit unix port the firmware's live heap is about 200-225 KiB
# after GC (objects are about twice their size on the 32-bit board), and at 256K the
# remaining space is too fragmented for littlefs file buffers under load. Until the
# firmware is trimmed, the simulator runs with 384K: see firmware/README.md, "Memory".
DEFAULT_HEAP = "384K"
