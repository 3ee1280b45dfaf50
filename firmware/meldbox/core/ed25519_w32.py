"""Ed25519's hot loops on 32-bit boards: the scalar multiplication loop (ed25519._run) and
the square root's power (in ed25519._decode) on fe25519's viper field elements instead
of big integers. Imported by ed25519.py on 32-bit builds; same formulas, same results."""
from meldbox.compat import micropython
from meldbox.core import fe25519

_P = 2**255 - 19


@micropython.viper
def _address(b: ptr8) -> uint:
    return uint(b)


# One workspace: 16 elements of 80 bytes, and 40 words of product scratch, never freed
# (the module holds them; MicroPython's GC does not move objects). fe25519's functions
# take each element as its address, an int: a memoryview would cost about 130
# instructions a call to convert, a third of a call's cost on Cortex-M.
_W = bytearray(80 * 16)
_T = bytearray(160)
_S = [_address(_W) + 80 * i for i in range(16)]
_TA = _address(_T)
_B32 = bytearray(32)
# R's table (8 entries of 128 bytes), converted at every verify: its buffer is kept too, so
# that a verify on a fragmented heap needs no 1 KiB in one piece (run is never re-entered:
# nothing in it awaits).
_R = bytearray(128 * 8)


def _set(slot, v):
    fe25519.load(slot, (v % _P).to_bytes(32, "little"), 0)


def _get(slot):
    fe25519.store(_B32, 0, slot)
    return int.from_bytes(_B32, "little")


def _entries(table):
    # A table of ed25519._table as bytes of 128-byte entries (y+x, y-x, 2d*t, 2z): a list
    # of int tuples (R's table) is converted once per check; affine tables stay as they are.
    if type(table) is not list:
        return table
    out = _R if len(table) * 128 == len(_R) else bytearray(128 * len(table))
    for i, e in enumerate(table):
        for n in range(4):
            out[128 * i + 32 * n:128 * i + 32 * n + 32] = (e[n] % _P).to_bytes(32, "little")
    return out


@micropython.native
def run(steps, tables):
    # ed25519._run on field elements of fe25519: the sum of 2^i times the entries marked
    # in steps[i], one doubling per bit, high bits first. Returns [X, Y, Z] as ints.
    mul = fe25519.mul
    sqr = fe25519.sqr
    add = fe25519.add
    sub = fe25519.sub
    load = fe25519.load
    t = _TA
    X, Y, Z, E, H, a, b, c, d, u, v, k, z = _S[:13]
    affine = [type(tb) is not list for tb in tables]
    tables = [_entries(tb) for tb in tables]
    for s, val in ((X, 0), (Y, 1), (Z, 1), (E, 0), (H, 1)):
        _set(s, val)
    i = len(steps) - 1
    while i >= 0 and not steps[i]:
        i -= 1
    while i >= 0:
        # dbl-2008-hwcd, a = -1 (as ed25519._double): A = X^2, B = Y^2, C = 2Z^2,
        # S = (X+Y)^2; E = A+B-S, F = C+G, G = A-B, H = A+B; X = EF, Y = GH, Z = FG.
        sqr(a, X, t)
        sqr(b, Y, t)
        sqr(c, Z, t)
        add(c, c, c)
        add(d, X, Y)
        sqr(d, d, t)
        add(H, a, b)
        sub(E, H, d)
        sub(a, a, b)
        add(c, c, a)
        mul(X, E, c, t)
        mul(Y, a, H, t)
        mul(Z, c, a, t)
        f = steps[i]
        slot = 0
        while f:
            g = f & 127
            if g:
                tb = tables[slot]
                j = (g - 1) >> 1
                g &= 1  # 0 for a negative digit: -Q swaps y+x and y-x, negates T
                o = (96 if affine[slot] else 128) * j
                # add-2008-hwcd-3, a = -1, k = 2d (as ed25519._add)
                load(u, tb, o + 32 * (1 - g))  # y+x, or y-x for -Q
                load(v, tb, o + 32 * g)
                load(k, tb, o + 64)
                sub(a, Y, X)
                mul(a, a, v, t)
                add(b, Y, X)
                mul(b, b, u, t)
                mul(c, E, H, t)
                mul(c, c, k, t)
                if affine[slot]:
                    add(d, Z, Z)
                else:
                    load(z, tb, o + 96)
                    mul(d, Z, z, t)
                sub(E, b, a)
                add(H, b, a)
                if g:
                    sub(a, d, c)
                    add(b, d, c)
                else:
                    add(a, d, c)
                    sub(b, d, c)
                mul(X, E, a, t)
                mul(Y, b, H, t)
                mul(Z, a, b, t)
            f >>= 7
            slot += 1
        i -= 1
    return [_get(X), _get(Y), _get(Z)]


@micropython.native
def _sqr_times(o, x, n):
    # o = x^(2^n), n >= 1
    sqr = fe25519.sqr
    t = _TA
    sqr(o, x, t)
    while n > 1:
        sqr(o, o, t)
        n -= 1


def pow58(w):
    # w^((p - 5) / 8) for the int w, by ref10's addition chain (as ed25519._decode).
    mul = fe25519.mul
    t = _TA
    x, w2, e = _S[13], _S[14], _S[15]
    a = _S[:8]
    _set(x, w)
    fe25519.sqr(w2, x, t)
    _sqr_times(e, w2, 2)
    mul(e, e, x, t)  # w^9
    mul(a[0], e, w2, t)  # w^11
    _sqr_times(a[0], a[0], 1)
    mul(a[0], a[0], e, t)  # w^(2^5 - 1)
    for i, (n, k) in enumerate(((5, 0), (10, 1), (20, 2), (10, 1), (50, 4), (100, 5), (50, 4))):
        _sqr_times(a[i + 1], a[i], n)
        mul(a[i + 1], a[i + 1], a[k], t)
    _sqr_times(e, a[7], 2)
    mul(e, e, x, t)
    return _get(e)
