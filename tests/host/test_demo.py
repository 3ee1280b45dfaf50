"""`meldbox demo` (what `make demo` runs) goes through the whole flow and says so."""

import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from meldbox_host.ledger import open_ledger

pytestmark = pytest.mark.slow  # starts simulated devices

MELDBOX = Path(sys.executable).with_name("meldbox")


def test_demo_runs_end_to_end(tmp_path):
    out = tmp_path / "demo"
    done = subprocess.run(
        [str(MELDBOX), "demo", "--out", str(out)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    text = done.stdout
    assert text.count("2.01, receipt seq") == 4
    assert "4.01" in text  # the forged notice refused
    for kind in ("delivered", "seen", "removed", "withdrawn"):
        assert "receipt: seq" in text and kind in text
    assert "7 receipts at the hotline" in text
    assert Image.open(out / "panel.png").size == (320, 240)
    assert len((out / "receipts.jsonl").read_text().splitlines()) == 7
    # it ends with the report of its own ledger and the dashboard's address
    report = text[text.index("$ meldbox hotline report --db") :]
    hoster_row = [ln.split() for ln in report.splitlines() if ln.startswith("nl.hoster-a ")][0]
    assert hoster_row[1:3] == ["1", "4"]  # one device, four notices
    findings = report[report.index("Chain findings") :]
    # a receipt that overtook another under load leaves a closed gap; none may stay open
    assert ", 0 open)" in findings.splitlines()[0], findings
    assert "Overdue now (0" in report
    assert "dashboard: http://127.0.0.1:8080/" in text.splitlines()[-2]
    ledger = open_ledger(out / "ledger.sqlite")
    assert ledger.count("receipts") == 7 and ledger.count("messages") == 5
    assert [r["kind"] for r in ledger.receipts()][-1] == "withdrawn"
    ledger.close()
