"""The base point's tables, constants in meldbox/core/ed25519_base.py (so they cost no
heap), are exactly what ed25519.py's own code makes, on both of its paths (big integers,
and the 32-bit boards' viper field elements), and what verify and sign use."""
from mptest import eq

from meldbox.core import ed25519, ed25519_base, ed25519_w32

# B and the tables' wNAF width (ed25519.py's _BX, _BY, _B_WIDTH: consts, not attributes
# on MicroPython)
BX = 0x216936D3CD6E53FEC0A4E231FDD6DC5C692CC7609525A7B2C9562D608F25D51A
BY = 0x6666666666666666666666666666666666666666666666666666666666666658
B_WIDTH = 6


def _made():
    return ed25519._tables(BX, BY, 4, B_WIDTH)


def test_constants_are_the_computed_tables():
    saved = ed25519._W32
    try:
        for path in (None, ed25519_w32):
            ed25519._W32 = path
            made = _made()
            eq(len(made), 4)
            for i in range(4):
                eq(len(ed25519_base.TABLES[i]), 16 * 96, "table %d size" % i)
                eq(bytes(made[i]) == ed25519_base.TABLES[i], True, "table %d, path %r" % (i, path))  # noqa: E501
    finally:
        ed25519._W32 = saved


def test_verify_uses_the_constants():
    eq(len(ed25519._base), 4)
    for i in range(4):
        eq(ed25519._base[i] is ed25519_base.TABLES[i], True)
    key = ed25519.SigningKey(bytes(range(32)))
    sig = key.sign(b"meldbox")
    eq(ed25519.verify(key.public, b"meldbox", sig), True)
    eq(ed25519.verify(key.public, b"meldbox!", sig), False)
