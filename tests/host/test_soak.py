"""The soak's short version (issue 9): 2,000 notices over a simulated year, 3 power cuts,
through the same harness as `make soak` (bench/soak.py) at --heap 256K on the board's
flash size. It passes only if every notice is taken, every acknowledged receipt reaches
the independent receipt checker with the chain intact, flash stays under 80 %, the largest
free heap block stays above an 8192-byte message, and the boot after the last power cut
takes at most twice a fresh boot."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import soak  # noqa: E402

pytestmark = pytest.mark.slow


def test_a_short_year_at_the_abuse_desk(tmp_path):
    cfg = soak.SoakConfig(
        notices=2000, power_cuts=3, staff_actions=6, batches=100, state_dir=tmp_path, log=print
    )
    result = soak.run(cfg)
    if result.failures:
        pytest.fail("the soak failed:\n" + "\n".join(result.failures))
    assert result.figures["power cuts"][0] == 3
    assert result.figures["notices accepted"][0] == 2000


def test_the_soak_fails_clearly_when_flash_passes_its_limit(tmp_path):
    """The flash check can fail: with a limit the device is already past at boot, the
    soak stops at the first sample and names the flash figure."""
    cfg = soak.SoakConfig(
        notices=20,
        power_cuts=0,
        staff_actions=0,
        batches=2,
        max_flash_share=0.01,
        state_dir=tmp_path,
    )
    result = soak.run(cfg)
    assert not result.passed
    assert any(
        f.startswith("flash ") and "bytes) used" in f and "over 1%" in f for f in result.failures
    ), result.failures
