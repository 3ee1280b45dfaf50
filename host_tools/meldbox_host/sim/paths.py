"""Where the firmware and the micropython command are, seen from the host tools."""

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
FIRMWARE = REPO / "firmware"
import os as _os  # noqa: E402

SIM_MAIN = FIRMWARE / _os.environ.get("MELDBOX_SIM_MAIN", "sim_main.py")
MICROPYTHON = Path(sys.executable).with_name("micropython")
# The reference board leaves about 440 KiB to MicroPython (hardware/README.md); the
# simulator's default is min(that, 256K), the firmware's budget: firmware/README.md, "Memory".
DEFAULT_HEAP = "256K"
DEFAULT_FLASH = "1408K"  # the reference board's littlefs (hardware/README.md)
