"""firmware/meldbox/core/ed25519_base.py is what firmware/tools/make_ed25519_base.py makes
(the firmware test mptest_ed25519_base checks the tables against ed25519.py's code)."""

import subprocess
import sys
from pathlib import Path

TOOL = Path(__file__).resolve().parents[2] / "firmware" / "tools" / "make_ed25519_base.py"


def test_committed_tables_are_current():
    r = subprocess.run([sys.executable, str(TOOL), "--check"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
