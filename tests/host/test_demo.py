"""`meldbox demo` (what `make demo` runs) goes through the whole flow and says so."""
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

pytestmark = pytest.mark.slow  # starts simulated devices

MELDBOX = Path(sys.executable).with_name("meldbox")


def test_demo_runs_end_to_end(tmp_path):
    out = tmp_path / "demo"
    done = subprocess.run([str(MELDBOX), "demo", "--out", str(out)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    text = done.stdout
    assert text.count("2.01, receipt seq") == 4
    assert "4.01" in text                               # the forged notice refused
    for kind in ("delivered", "seen", "removed", "withdrawn"):
        assert "receipt: seq" in text and kind in text
    assert "7 receipts at the hotline" in text
    assert Image.open(out / "panel.png").size == (320, 240)
    assert len((out / "receipts.jsonl").read_text().splitlines()) == 7
