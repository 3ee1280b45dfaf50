"""Where the firmware and the micropython command are, seen from the host tools."""
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
FIRMWARE = REPO / "firmware"
SIM_MAIN = FIRMWARE / "sim_main.py"
MICROPYTHON = Path(sys.executable).with_name("micropython")
DEFAULT_HEAP = "256K"   # the reference board's heap budget (hardware/README.md)
