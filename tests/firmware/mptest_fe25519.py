"""GF(2^255 - 19) in viper on 32-bit words (meldbox.core.fe25519, the field of Ed25519 on
32-bit boards) against Python integers: products, squares, sums and differences of edge
and pseudo-random values, inputs with every limb at its largest allowed value, results
written over their operands, long chains, byte conversion, and the square root's power.
The code is word-size agnostic; here it runs on the 64-bit unix port, and under QEMU on
Cortex-M (bench/crypto-notes.md)."""
import random
import struct

from mptest import eq

from meldbox.core import ed25519_w32, fe25519

P = 2**255 - 19
WORK = bytearray(80 * 4)
SCRATCH = bytearray(160)
A, B, O, Z = [memoryview(WORK)[80 * i:80 * i + 80] for i in range(4)]  # noqa: E741
BUF = bytearray(32)
# Limbs at the bounds fe25519 keeps (limb 1 may carry 6 bits more, limb 19 has 8 bits).
WORST = struct.pack("<20I", *([8191, 8191 + 63] + [8191] * 17 + [255]))


def _put(slot, v):
    fe25519.load(slot, v.to_bytes(32, "little"), 0)


def _get(slot):
    fe25519.store(BUF, 0, slot)
    return int.from_bytes(BUF, "little")


def _value(slot):
    return sum(x << (13 * i) for i, x in enumerate(struct.unpack("<20I", bytes(slot))))


def _bounded(slot, what):
    limbs = struct.unpack("<20I", bytes(slot))
    ok = all(x < 8192 for x in limbs[:1] + limbs[2:19]) and limbs[1] < 8192 + 64
    eq(ok and limbs[19] < 256, True, "%s: limbs out of bounds %r" % (what, limbs))


def _values(n, seed):
    out = [0, 1, 2, 19, 8191, 8192, P - 1, P, P + 1, P + 18, 2**255 - 1, 2**254,
           2**130 - 5, (1 << 255) - (1 << 13)]
    random.seed(seed)
    for _ in range(n):
        out.append(int.from_bytes(bytes(random.getrandbits(8) for _ in range(32)), "little") >> 1)
    return out


def _check_ops(x, y, what):
    for op, want in (("mul", x * y), ("add", x + y), ("sub", x - y)):
        if op == "mul":
            fe25519.mul(O, A, B, SCRATCH)
        else:
            getattr(fe25519, op)(O, A, B)
        _bounded(O, "%s %s" % (op, what))
        eq(_get(O) % P, want % P, "%s %s" % (op, what))


def test_products_sums_differences():
    values = _values(60, 1)
    for x in values:
        for y in values[:30]:
            _put(A, x)
            _put(B, y)
            _check_ops(x % (1 << 255), y % (1 << 255), "%x %x" % (x, y))
        _put(A, x)
        fe25519.sqr(O, A, SCRATCH)
        _bounded(O, "sqr")
        eq(_get(O) % P, (x % (1 << 255)) ** 2 % P, "sqr %x" % x)


def test_largest_limbs():
    # The column bound: every limb at its maximum, in both operands.
    A[:] = WORST
    B[:] = WORST
    w = _value(A)
    _check_ops(w, w, "worst")
    fe25519.sqr(O, A, SCRATCH)
    eq(_get(O) % P, w * w % P, "sqr worst")
    Z[:] = bytes(80)
    fe25519.sub(O, Z, A)
    _bounded(O, "0 - worst")
    eq(_get(O) % P, -w % P, "0 - worst")


def test_results_over_operands_and_long_chains():
    _put(A, 2**255 - 1)
    _put(B, 3)
    v, b = (2**255 - 1) % P, 3
    for i in range(200):
        fe25519.sqr(A, A, SCRATCH)
        v = v * v % P
        fe25519.mul(A, A, A, SCRATCH)
        v = v * v % P
        fe25519.mul(B, A, B, SCRATCH)
        b = v * b % P
        fe25519.sub(A, B, A)
        v = (b - v) % P
        fe25519.add(B, B, B)
        b = 2 * b % P
        _bounded(A, "chain %d" % i)
        eq((_get(A) % P, _get(B) % P), (v, b), "chain step %d" % i)


def test_load_and_store():
    for x in _values(40, 2):
        _put(A, x)
        eq(_get(A), x % (1 << 255), "round trip %x" % x)
        # at an offset inside a longer buffer, with bit 255 set (the sign of an encoding)
        buf = bytes(5) + (x | (1 << 255)).to_bytes(32, "little") + bytes(3)
        fe25519.load(A, buf, 5)
        eq(_get(A), x % (1 << 255), "offset load %x" % x)


def test_square_root_power():
    for w in _values(10, 3):
        eq(ed25519_w32.pow58(w) % P, pow(w % P, (P - 5) // 8, P), "w = %x" % w)
