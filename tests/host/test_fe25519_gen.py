"""firmware/meldbox/core/fe25519.py is the output of bench/gen_fe25519.py (its unrolled
products are not edited by hand), and the generator's bounds hold."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _generator():
    spec = importlib.util.spec_from_file_location("gen_fe25519", ROOT / "bench/gen_fe25519.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_module_is_generated():
    text = _generator().generate()
    assert (ROOT / "firmware/meldbox/core/fe25519.py").read_text() == text


def test_difference_offset_is_four_p():
    gen = _generator()
    limbs = gen.four_p_limbs()
    assert sum(x << (13 * i) for i, x in enumerate(limbs)) == 4 * gen.P
    assert min(limbs[:19]) >= gen.LIMB_MAX and limbs[19] >= 256
