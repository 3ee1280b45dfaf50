"""The soak's short version (issue 9): 2,000 notices over a simulated year, 3 power cuts,
through the same harness as `make soak` (bench/soak.py) at --heap 256K on the board's
flash size. It passes only if every notice is taken, every acknowledged receipt reaches
the independent receipt checker with the chain intact, flash stays under 80 %, the largest
free heap block stays above what a biggest notice needs (soak.LARGEST_BLOCK_BOUND; a
notice of about 8192 bytes is sent after every power cut), and the boot after the last
power cut takes at most twice a fresh boot."""

import hashlib
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import soak  # noqa: E402
from soak_receipts import ReceiptChecker, Refused  # noqa: E402

from meldbox_host import protocol  # noqa: E402


@pytest.mark.slow
@pytest.mark.soak
def test_a_short_year_at_the_abuse_desk(tmp_path):
    cfg = soak.SoakConfig(
        notices=2000, power_cuts=3, staff_actions=6, batches=100, state_dir=tmp_path, log=print
    )
    result = soak.run(cfg)
    if result.failures:
        pytest.fail("the soak failed:\n" + "\n".join(result.failures))
    assert result.figures["power cuts"][0] == 3
    assert result.figures["notices accepted"][0] == 2000


@pytest.mark.slow
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


def _receipt(key, seq, prev, **extra):
    claims = {
        "v": 1,
        "t": "receipt",
        "dev": soak.DEV,
        "seq": seq,
        "prev": prev,
        "kind": "delivered",
        "at": 1800000000 + seq,
        "clock": "rtc",
    }
    claims.update(extra)
    return protocol.sign(claims, key.private_key)


def _chain(key, n):
    out, prev = [], bytes(32)
    for seq in range(1, n + 1):
        cose = _receipt(key, seq, prev)
        out.append(cose)
        prev = hashlib.sha256(cose).digest()
    return out


@pytest.mark.parametrize("ph_ok", [True, False])
def test_the_receipt_checker_links_a_checkpoint_to_the_receipt_it_names(ph_ok):
    key = protocol.HotlineKey.generate(soak.DEV)
    r = _chain(key, 2)
    ph = hashlib.sha256(r[1] if ph_ok else r[0]).digest()
    cp = _receipt(key, 3, hashlib.sha256(r[1]).digest(), kind="checkpoint", pseq=2, ph=ph)
    checker = ReceiptChecker(key.public)
    for cose in r + [cp]:
        checker.take("a", cose)
    expected = [] if ph_ok else ["checkpoint 3: ph is not the hash of receipt 2"]
    assert checker.chain_problems() == expected
    assert checker.checkpoints() == 1


def test_the_receipt_checker_reports_gaps_broken_links_and_bad_signatures():
    key = protocol.HotlineKey.generate(soak.DEV)
    r = _chain(key, 4)
    checker = ReceiptChecker(key.public)
    for cose in (r[0], r[2], r[3]):
        checker.take("a", cose)
    assert checker.chain_problems() == ["1 receipts never arrived (first: [2])"]
    checker.take("b", _receipt(key, 5, bytes(32)))
    assert "seq 5: prev is not the hash of receipt 4" in checker.chain_problems()
    other = protocol.HotlineKey.generate(soak.DEV)
    with pytest.raises(Refused, match="bad signature"):
        checker.take("a", _receipt(other, 6, hashlib.sha256(r[3]).digest()))
