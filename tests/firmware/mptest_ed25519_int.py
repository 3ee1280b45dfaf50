"""Ed25519 on the big-integer path (ed25519.py's own loop and square root on ints), in this
64-bit build that runs the 32-bit boards' path (meldbox.core.ed25519_w32 on fe25519's viper
field elements) by default: every test of mptest_ed25519 (RFC 8032 vectors, refusals,
small-order cases, the key cache) again on big integers, and the two paths' loop, square
root and tables against each other."""
import sys

from mptest import eq

from meldbox.core import ed25519, ed25519_w32

# The default is the viper path on every MicroPython build (ed25519.py); the big-integer
# path is switched on here, for every test of this file (one process runs them all).
eq(sys.maxsize > 2**32, True)
eq(ed25519._W32 is ed25519_w32, True)
ed25519._W32 = None

from mptest_ed25519 import *  # noqa: E402,F401,F403  (the same tests, on this path)
from mptest_ed25519 import cases  # noqa: E402,F401

P = 2**255 - 19
BX = 0x216936D3CD6E53FEC0A4E231FDD6DC5C692CC7609525A7B2C9562D608F25D51A
BY = 0x6666666666666666666666666666666666666666666666666666666666666658


def _both(fn):
    # fn() on the big-integer path, then on the 32-bit path
    first = fn()
    ed25519._W32 = ed25519_w32
    try:
        second = fn()
    finally:
        ed25519._W32 = None
    return first, second


def test_path_is_big_integers():
    eq(ed25519._W32, None)


def test_loop_matches_big_integer_path():
    # Random schedules over B's tables (affine) and a projective table: the same point.
    base = ed25519._base_steps(1)  # makes B's tables
    del base
    proj = ed25519._table(BX, BY, 4, False)
    seed = 5
    for n in range(12):
        seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
        k = (seed << 200) ^ (seed * 7919 << 100) ^ (seed * 31337) ^ (n << 250)
        steps = ed25519._base_steps(k % (1 << 256))
        ed25519._schedule(steps, seed % (1 << 60), 4, 4, n & 1)
        tables = ed25519._base + [proj]
        a, b = _both(lambda: ed25519._run(list(steps), tables))  # noqa: B023
        # the same point in projective coordinates: X/Z and Y/Z agree
        eq((a[0] * b[2] - b[0] * a[2]) % P, 0, "X/Z, k=%x" % k)
        eq((a[1] * b[2] - b[1] * a[2]) % P, 0, "Y/Z, k=%x" % k)


def test_decode_matches_big_integer_path():
    for seed in range(40):
        s = bytes((seed * 37 + i * 11) & 255 for i in range(32))
        a, b = _both(lambda: ed25519._decode(s))  # noqa: B023
        eq(a, b, "encoding %s" % s.hex())


def test_key_tables_match_big_integer_path():
    a, b = _both(lambda: ed25519._tables(BX, BY, 3, 5))
    eq(a, b)
