"""Ed25519 signatures (RFC 8032) on MicroPython integers: verify(), SigningKey,
public_key(). How it is made fast, and why the fast check is exact: bench/crypto-notes.md."""
# Compactness matters here: a module imported from source is parsed whole into the heap
# (about 100 bytes a line on a 64-bit build), and verification must fit a 64K heap. So
# the explanations are comments (free), and small helpers are merged into their callers.
#
# Nothing here is constant-time. Verification handles public data only. Signing makes
# receipts; its timing depends on the secret nonce and scalar, which is acceptable for a
# device on a hoster's network but would not be on a shared CPU (see the notes).
import sys

from meldbox.compat import const, micropython
from meldbox.core import sha512 as _sha512
from meldbox.core.ed25519_base import TABLES as _B_TABLES

_P = const(0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFED)  # 2^255 - 19
_L = const(0x1000000000000000000000000000000014DEF9DEA2F79CD65812631A5CF5D3ED)  # group order
_M255 = const(0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF)
_D = const(0x52036CEE2B6FFE738CC740797779E89800700A4D4141D8AB75EB4DCA135978A3)
_D2 = const(0x2406D9DC56DFFCE7198E80F2EEF3D13000E0149A8283B156EBD69B9426B2F159)  # 2d
_SQRT_M1 = const(0x2B8324804FC1DF0B2B4D00993DFBD7A72F431806AD2FE478C4EE1B274A0EA0B0)
_BX = const(0x216936D3CD6E53FEC0A4E231FDD6DC5C692CC7609525A7B2C9562D608F25D51A)  # base point B
_BY = const(0x6666666666666666666666666666666666666666666666666666666666666658)
_M64 = const(0xFFFFFFFFFFFFFFFF)
_B_WIDTH = const(6)  # wNAF width for B's tables: 16 odd multiples each
_V_WIDTH = const(5)  # wNAF width for A's and R's: 8 odd multiples each
_CACHE_KEYS = const(3)  # public keys whose table is kept (768 bytes each)

# ed25519_w32 runs the scalar multiplication loop and the square root on viper field
# elements (same results). On 32-bit builds big ints are slow; on every build each big-int
# operation allocates, and a verify's megabytes of garbage made the collector run hundreds
# of times over a full heap (a soak device spent half its time collecting). So wherever
# viper is there, the simulator runs the board's path too. Compiled from source (not
# precompiled, as on the device and in the simulator's ROMFS), fe25519 needs a 160K heap:
# a smaller one keeps the big-integer path.
_W32 = None
if sys.implementation.name == "micropython":
    try:
        from meldbox.core import ed25519_w32 as _W32
    except (ImportError, SyntaxError, ValueError, MemoryError):  # no viper emitter, or
        pass                                                     # no heap to compile it

# Field elements are ints, not kept in [0, p): a product is folded with 2^255 = 19
# (mod p), (t & M) + (t >> 255) * 19, four cheap operations that cost less than one `%`
# (a division). Two folds make any product of operands below about 2^300 "tight"
# (-2^15 < v < 2^255 + 2^15); one fold of a product of tight values stays below 2^264,
# good enough for a value that only feeds sums and then a product folded twice. `% _P`
# is taken only where a value is compared or encoded.


@micropython.native
def _mul(a, b):
    t = a * b
    t = (t & _M255) + (t >> 255) * 19
    return (t & _M255) + (t >> 255) * 19


@micropython.native
def _sqr_times(t, n):
    # t^(2^n); the folds alternate one, two (see above), t tight in and out.
    while n > 0:
        t = t * t
        t = (t & _M255) + (t >> 255) * 19
        if n > 1:
            t = t * t
            t = (t & _M255) + (t >> 255) * 19
        t = (t & _M255) + (t >> 255) * 19
        n -= 2
    return t


@micropython.native
def _inv(z):
    # 1/z mod p by Euclid's algorithm: a third of the cost of pow(z, p - 2, p) here.
    a, b, u, v = _P, z % _P, 0, 1
    while b:
        q = a // b
        a, b, u, v = b, a - q * b, v, u - q * v
    return u % _P


def _decode(s):
    # Affine (x, y) of the point encoded by 32 bytes s, or None (RFC 8032 5.1.3). The
    # square root is x = u*v^3 * w^((p-5)/8) with w = u*v^7, the power by ref10's
    # addition chain (250 squarings, 11 products).
    y = int.from_bytes(s, "little")
    sign = y >> 255
    y &= _M255
    if y >= _P:
        return None
    u = _mul(y, y) - 1
    v = _mul(_D, u + 1) + 1
    v3 = _mul(_mul(v, v), v)
    w = _mul(_mul(u, v3), _mul(v3, v))  # u*v^7
    w2 = _mul(w, w)
    if _W32:
        x = _W32.pow58(w)
    else:
        t = _mul(_sqr_times(w2, 2), w)  # w^9
        a = [_mul(_sqr_times(_mul(t, w2), 1), t)]  # w^(2^5 - 1) = (w^11)^2 * w^9
        # a[i+1] = a[-1]^(2^n) * a[k]: exponents 2^10-1, 2^20-1, 2^40-1, 2^50-1, 2^100-1,
        # 2^200-1, 2^250-1; then (2^250-1) * 4 + 1 = 2^252 - 3 = (p-5)/8.
        for n, k in ((5, 0), (10, 1), (20, 2), (10, 1), (50, 4), (100, 5), (50, 4)):
            a.append(_mul(_sqr_times(a[-1], n), a[k]))
        x = _mul(_sqr_times(a[-1], 2), w)
    x = _mul(_mul(u, v3), x)
    c = (_mul(v, _mul(x, x)) - u) % _P  # v*x^2 - u: 0, or -2u when x needs sqrt(-1)
    if c:
        if (c + 2 * u) % _P:
            return None
        x = _mul(x, _SQRT_M1)
    x %= _P
    if x == 0 and sign:
        return None
    return (_P - x if (x & 1) != sign else x), y


# A point under computation is a list [X, Y, Z, E, H]: extended coordinates whose T is
# kept as the factors E*H, since only an addition needs T. The functions update P in
# place (returning a tuple would cost more than the call).

@micropython.native
def _finish(P, E, F, G, H):
    # The last step of both formulas: X = E*F, Y = G*H, Z = F*G (T = E*H stays as E, H).
    m = _M255
    X = E * F
    X = (X & m) + (X >> 255) * 19
    P[0] = (X & m) + (X >> 255) * 19
    Y = G * H
    Y = (Y & m) + (Y >> 255) * 19
    P[1] = (Y & m) + (Y >> 255) * 19
    Z = F * G
    Z = (Z & m) + (Z >> 255) * 19
    P[2] = (Z & m) + (Z >> 255) * 19
    P[3] = E
    P[4] = H


@micropython.native
def _double(P):
    # dbl-2008-hwcd with a = -1. In and out tight; E, H below 2^265.
    m = _M255
    X = P[0]
    Y = P[1]
    A = X * X
    A = (A & m) + (A >> 255) * 19
    B = Y * Y
    B = (B & m) + (B >> 255) * 19
    C = P[2] * P[2]
    C = ((C & m) + (C >> 255) * 19) << 1
    S = X + Y
    S = S * S
    S = (S & m) + (S >> 255) * 19
    G = A - B
    _finish(P, A + B - S, C + G, G, A + B)


@micropython.native
def _add(P, ypx, ymx, t2d, z2=None):
    # add-2008-hwcd-3 with a = -1, k = 2d: P += Q, for Q given as y+x, y-x, 2d*x*y
    # (affine, z2 None) or as Y+X, Y-X, 2d*T, 2Z.
    m = _M255
    a = (P[1] - P[0]) * ymx
    a = (a & m) + (a >> 255) * 19
    b = (P[1] + P[0]) * ypx
    b = (b & m) + (b >> 255) * 19
    c = P[3] * P[4]  # below 2^530: one fold, then a product folded twice
    c = (c & m) + (c >> 255) * 19
    c = c * t2d
    c = (c & m) + (c >> 255) * 19
    c = (c & m) + (c >> 255) * 19
    if z2 is None:
        d = P[2] << 1
    else:
        d = P[2] * z2
        d = (d & m) + (d >> 255) * 19
    _finish(P, b - a, d - c, d + c, b + a)


def _table(x, y, count, affine=True, out=None):
    # The odd multiples P, 3P, 5P, ... (count of them) of P = (x, y): a list of
    # (Y+X, Y-X, 2d*T, 2Z), or with `affine` a bytearray of 96-byte affine entries (y+x,
    # y-x, 2d*x*y, little-endian; written into `out` if given), made affine 8 at a time
    # with one inversion for the 8 (Montgomery's trick; batches keep the heap needed small).
    P = [x, y, 1, x, y]
    Q = list(P)
    _double(Q)
    twice = (Q[1] + Q[0], Q[1] - Q[0], _mul(_mul(Q[3], Q[4]), _D2), Q[2] << 1)
    if out is None:
        out = bytearray(96 * count) if affine else []
    batch = []
    prods = [1]
    for i in range(count):
        if i:
            _add(P, *twice)
        e = (P[1] + P[0], P[1] - P[0], _mul(_mul(P[3], P[4]), _D2), P[2] << 1)
        if not affine:
            out.append(e)
            continue
        batch.append(e)
        prods.append(_mul(prods[-1], e[3]))
        if len(batch) == 8 or i == count - 1:
            start = i + 1 - len(batch)
            inv = _inv(prods.pop())
            while batch:
                e = batch.pop()
                w = _mul(inv, prods.pop()) << 1  # 2/(2Z) = 1/Z
                inv = _mul(inv, e[3])
                o = 96 * (start + len(batch))
                for n in range(3):
                    out[o + 32 * n:o + 32 * n + 32] = (_mul(e[n], w) % _P).to_bytes(32, "little")
            prods = [1]
    return out


def _tables(x, y, n, width):
    # The tables of P, [2^64]P, ... [2^(64 (n - 1))]P for the affine point P = (x, y):
    # B's, made once by firmware/tools/make_ed25519_base.py (ed25519_base.py) and checked
    # against that module by tests/firmware/mptest_ed25519_base.py.
    tables = []
    while True:
        tables.append(_table(x, y, 1 << (width - 2), True))
        if len(tables) == n:
            return tables
        if _W32:  # [2^64]P: P added at bit 64, then 64 doublings
            P = _run([0] * 64 + [1], [[(y + x, y - x, _mul(_mul(x, y), _D2), 2)]])
        else:
            P = [x, y, 1, x, y]
            for _ in range(64):
                _double(P)
        w = _inv(P[2])
        x, y = _mul(P[0], w) % _P, _mul(P[1], w) % _P


@micropython.native
def _schedule(steps, k, width, slot, negate=False):
    # Marks in steps[i] which entry of the table in `slot` (0 to 7) to add at bit i, for
    # k*P with k >= 0, or k*(-P) with negate, by the width-w NAF of k: 7 bits per slot,
    # 0 for none, else |d| + 1 - sign for the odd digit d = +-(2j + 1) of entry j, with
    # sign 1 when positive. Small ints, not entries, keep the steps within 1 KB of heap.
    pos = 0
    while k:
        if k & 1:
            d = k & ((1 << width) - 1)
            if d >> (width - 1):
                d -= 1 << width
            k = (k - d) >> width  # the low `width` bits are zero now
            while len(steps) <= pos:
                steps.append(0)
            steps[pos] |= (abs(d) + ((d < 0) != negate)) << (7 * slot)
            pos += width
        else:
            k >>= 1
            pos += 1


@micropython.native
def _run(steps, tables):
    # Sum of 2^i times the entries marked in steps[i], one doubling per bit, high bits
    # first. A table is a list of entries or a bytearray of affine entries of 96 bytes.
    if _W32:
        return _W32.run(steps, tables)
    P = [0, 1, 1, 0, 1]
    i = len(steps) - 1
    while i >= 0 and not steps[i]:
        i -= 1
    while i >= 0:
        _double(P)
        c = steps[i]
        slot = 0
        while c:
            f = c & 127
            if f:
                t = tables[slot]
                j = (f - 1) >> 1
                if type(t) is list:
                    e = t[j]
                else:
                    j *= 96
                    e = (int.from_bytes(t[j:j + 32], "little"), int.from_bytes(t[j + 32:j + 64], "little"),  # noqa: E501
                         int.from_bytes(t[j + 64:j + 96], "little"), None)
                f &= 1  # 0 for a negative digit: -Q swaps y+x and y-x, negates T
                _add(P, e[1 - f], e[f], e[2] if f else -e[2], e[3])
            c >>= 7
            slot += 1
        i -= 1
    return P


# The tables of [2^(64 i)]B for i = 0 to 3, 1.5 KB each: constants (ed25519_base.py,
# made by firmware/tools/make_ed25519_base.py), in flash on the board, not in the heap.
_base = list(_B_TABLES)
# [public key, [its table]], most recently used last. A key that leaves the cache hands
# its table's buffer to the next: a verify with a key not in the cache then allocates no
# long-lived memory (one table for each of _CACHE_KEYS keys is ever allocated), so
# rotating issuers cannot fragment the heap.
_cache = []


def _base_steps(k):
    # The steps of [k]B, 0 <= k < 2^256, as the sum of [k_i][2^(64 i)]B, k_i the 64-bit
    # pieces of k (slots 0 to 3): 64 doublings where one table would need 256.
    steps = [0] * 67
    for i in range(4):
        _schedule(steps, (k >> (64 * i)) & _M64, _B_WIDTH, i)
    return steps


def _base_point(k):
    # [k]B encoded (RFC 8032 5.1.2), 0 <= k < 2^256.
    P = _run(_base_steps(k), _base)
    zi = _inv(P[2])
    x = _mul(P[0], zi) % _P
    return ((_mul(P[1], zi) % _P) | ((x & 1) << 255)).to_bytes(32, "little")


def _key_tables(key):
    # [A's table] for the public key `key`, or None if it does not decode. One table a
    # key, for three keys (a device's issuers, each verified without remaking its table),
    # not the three tables of [2^(64 i)]A for two keys: those made checks on 64-bit pieces
    # about a third faster, but cost twice the heap, and three issuers in turn remade them
    # at nearly every check (the soak's MemoryErrors were there).
    for entry in _cache:
        if entry[0] == key:
            _cache.remove(entry)
            _cache.append(entry)
            return entry[1]
    point = _decode(key)
    if point:
        out = _cache.pop(0)[1][0] if len(_cache) >= _CACHE_KEYS else None
        _cache.append([key, [_table(point[0], point[1], 1 << (_V_WIDTH - 2), True, out)]])
        return _cache[-1][1]


def _hash_scalar(*parts):
    h = _sha512.sha512()
    for part in parts:
        h.update(part)
    return int.from_bytes(h.digest(), "little") % _L


def _short_pair(k, bits):
    # (c0, c1) with c0 = c1*k (mod 8L), c1 odd and 0 < |c1| < L, |c1| about 2^bits and
    # |c0| about 2^(256 - bits) for nearly all k: Euclid's algorithm on (8L, k) stopped
    # early (each remainder r and its coefficient t have r = t*k mod 8L, |t| at most 8L
    # over the previous remainder).
    r0, r1, t0, t1 = _L << 3, k, 0, 1
    while r1 >> (256 - bits):
        q = r0 // r1
        r0, r1, t0, t1 = r1, r0 - q * r1, t1, t0 - q * t1
    if t1 & 1:
        return r1, t1
    # t1 even, so t0 is odd (consecutive coefficients are coprime), as is t0 - j*t1;
    # j balances r0 - j*r1 against 2^(256 - 2 bits) |t0 - j*t1| (t0, t1 differ in sign).
    # Sizes only change the speed; when all the lattice's short vectors have t even
    # (rare), they can be far above the aim.
    shift = 256 - 2 * bits
    j = max(0, (r0 - (abs(t0) << shift)) // (r1 + (abs(t1) << shift)))
    c0, c1 = r0 - j * r1, t0 - j * t1
    return (c0, c1) if abs(c1) < _L else (k, 1)


def verify(public_key, message, signature):
    # True if signature is a valid Ed25519 signature of message by public_key (RFC 8032
    # 5.1.7, [S]B = R + [k]A, k = SHA-512(R || A || M) mod L); False for anything else.
    # `message` is bytes-like, or a tuple of bytes-like parts that make up M (COSE's
    # Sig_structure around a payload that stays in the received buffer, hashed in order,
    # never joined into one copy).
    if len(public_key) != 32 or len(signature) != 64:
        return False
    key = bytes(public_key)
    R = bytes(signature[:32])
    s = int.from_bytes(bytes(signature[32:]), "little")
    r_point = _decode(R) if s < _L else None
    tables = _key_tables(key) if r_point else None
    if tables is None:
        return False
    k = _hash_scalar(R, key, *(message if type(message) is tuple else (message,)))
    # Multiplying by c1 (odd, below L, so one-to-one on the group, of order 8L) turns the
    # RFC's check into [c1*S mod L]B - [c1]R - [c0]A = 0 with short scalars: c0 and c1
    # of 128 bits. B's scalar is cut in four pieces: about 128 doublings in all.
    c0, c1 = _short_pair(k, 128)
    steps = _base_steps(c1 * s % _L)
    _schedule(steps, abs(c1), _V_WIDTH, 4, c1 > 0)
    _schedule(steps, abs(c0), _V_WIDTH, 5, c0 > 0)
    r_table = _table(r_point[0], r_point[1], 1 << (_V_WIDTH - 2), False)
    P = _run(steps, _base + [r_table] + tables)
    return P[0] % _P == 0 and (P[1] - P[2]) % _P == 0


def public_key(seed):
    # The 32-byte public key of a 32-byte seed (RFC 8032 5.1.5).
    return SigningKey(seed).public


class SigningKey:
    # An Ed25519 key from its 32-byte seed; sign() is deterministic (RFC 8032 5.1.6).
    def __init__(self, seed):
        if len(seed) != 32:
            raise ValueError("Ed25519 seed must be 32 bytes")
        h = _sha512.digest(seed)
        self._prefix = h[32:]
        self._a = (int.from_bytes(h[:32], "little") & ((1 << 254) - 8)) | (1 << 254)
        self.public = _base_point(self._a % _L)

    def sign(self, message):
        r = _hash_scalar(self._prefix, message)
        R = _base_point(r)
        return R + ((r + _hash_scalar(R, self.public, message) * self._a) % _L).to_bytes(32, "little")  # noqa: E501
