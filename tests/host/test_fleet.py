"""`make fleet` in miniature (bench/fleet.py with 3 devices and 30 notices on SQLite): the
run completes, the dark device's notices go unanswered, every receipt of the live devices
reaches the ledger, and the report has a row per hoster."""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.fleet import run_fleet, section  # noqa: E402

pytestmark = pytest.mark.slow  # starts simulated devices and a hotline


def test_a_small_fleet_run(tmp_path):
    lines = []
    out = run_fleet(str(tmp_path / "ledger.sqlite"), "sqlite", 3, 30, lines.append)
    assert out["accepted"] == 25 and out["unanswered"] == 5, out  # the third goes dark halfway
    # only the dark device's first unanswered notice failed (a live device never times out)
    assert [a.split(" ")[0] for a in out["no_answers"]] == ["nl.hoster-03.desk-1"], out
    assert out["other_answers"] == "none"
    assert out["withdrawn"] == 1 and out["removed_by_staff"] == 2
    assert out["live_devices_complete"] == "2 of 2"
    assert out["findings"] == 0
    assert sorted(h["hoster"] for h in out["report"]["hosters"]) == [
        "hoster-01",
        "hoster-02",
        "hoster-03",
    ]
    assert sum(h["removed_n"] for h in out["report"]["hosters"]) == 2, out
    text = section([out])
    assert text.startswith("<!-- fleet:begin -->") and "| hoster-03 | 10 |" in text
