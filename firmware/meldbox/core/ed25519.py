"""Ed25519 signatures (RFC 8032) on MicroPython integers: verify(), SigningKey,
public_key(). How it is made fast, and why the fast check is exact: bench/crypto-notes.md."""
# Docstrings are kept short on purpose: on MicroPython a module is compiled from source
# at import, and the parse tree (docstrings included) must fit the heap; comments are free.
#
# Nothing here is constant-time. Verification handles public data only. Signing makes
# receipts; its timing depends on the secret nonce and scalar, which is acceptable for a
# device on a hoster's network but would not be on a shared CPU (see the notes).
from meldbox.core import sha512 as _sha512

try:
    import micropython
    from micropython import const
except ImportError:  # CPython runs the same code, without native compilation
    class micropython:  # noqa: N801 - stands in for the MicroPython module
        @staticmethod
        def native(fn):
            return fn

    def const(x):
        return x

_P = const(0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFED)  # 2^255 - 19
_L = const(0x1000000000000000000000000000000014DEF9DEA2F79CD65812631A5CF5D3ED)  # group order
_L8 = const(0x80000000000000000000000000000000A6F7CEF517BCE6B2C09318D2E7AE9F68)  # 8L
_M255 = const(0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF)
_M128 = const(0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF)
_HALF = const(0x100000000000000000000000000000000)  # 2^128
_PAIR_MAX = const(0x400000000000000000000000000000000)  # 2^130
_D = const(0x52036CEE2B6FFE738CC740797779E89800700A4D4141D8AB75EB4DCA135978A3)
_D2 = const(0x2406D9DC56DFFCE7198E80F2EEF3D13000E0149A8283B156EBD69B9426B2F159)  # 2d
_SQRT_M1 = const(0x2B8324804FC1DF0B2B4D00993DFBD7A72F431806AD2FE478C4EE1B274A0EA0B0)
_BX = const(0x216936D3CD6E53FEC0A4E231FDD6DC5C692CC7609525A7B2C9562D608F25D51A)
_BY = const(0x6666666666666666666666666666666666666666666666666666666666666658)
_B_WIDTH = const(7)  # wNAF width for B and [2^128]B: tables of 32 odd multiples
_V_WIDTH = const(5)  # wNAF width for A and R: tables of 8 odd multiples
_CACHE_KEYS = const(2)  # public keys whose decoded point and table are kept

# Field elements are ints, not kept in [0, p): a product is folded with 2^255 = 19
# (mod p), (t & M) + (t >> 255) * 19, which costs about what `%` costs in four cheap
# operations instead of one slow division. Two folds make any product of operands below
# about 2^300 "tight" (-2^15 < v < 2^255 + 2^15); one fold of a product of tight values
# stays below 2^264, good enough for a value that only feeds sums and then a product
# folded twice. `% _P` is taken only where a value is compared or encoded.


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


def _pow_p58(z):
    # z^((p-5)/8) = z^(2^252-3) by ref10's addition chain: 250 squarings, 11 products.
    t = _mul(z, z)
    t9 = _mul(_sqr_times(t, 2), z)
    t = _mul(t9, t)  # z^11
    a5 = _mul(_mul(t, t), t9)  # z^(2^5-1)
    a10 = _mul(_sqr_times(a5, 5), a5)
    a20 = _mul(_sqr_times(a10, 10), a10)
    a50 = _mul(_sqr_times(_mul(_sqr_times(a20, 20), a20), 10), a10)
    a100 = _mul(_sqr_times(a50, 50), a50)
    a250 = _mul(_sqr_times(_mul(_sqr_times(a100, 100), a100), 50), a50)
    return _mul(_sqr_times(a250, 2), z)


@micropython.native
def _inv(z):
    # 1/z mod p by Euclid's algorithm: a third of the cost of pow(z, p - 2, p) here.
    a = _P
    b = z % _P
    u = 0
    v = 1
    while b:
        q = a // b
        a, b = b, a - q * b
        u, v = v, u - q * v
    return u % _P


def _decode(s):
    # Affine (x, y) of the point encoded by 32 bytes s, or None (RFC 8032 5.1.3).
    y = int.from_bytes(s, "little")
    sign = y >> 255
    y &= _M255
    if y >= _P:
        return None
    yy = _mul(y, y)
    u = yy - 1
    v = _mul(_D, yy) + 1
    v3 = _mul(_mul(v, v), v)
    uv3 = _mul(u, v3)
    x = _mul(uv3, _pow_p58(_mul(uv3, _mul(v3, v))))
    vxx = _mul(v, _mul(x, x)) % _P
    u %= _P
    if vxx != u:
        if vxx != (_P - u) % _P:
            return None
        x = _mul(x, _SQRT_M1)
    x %= _P
    if x == 0 and sign:
        return None
    if (x & 1) != sign:
        x = _P - x
    return x, y


def _encode(P):
    zi = _inv(P[2])
    x = _mul(P[0], zi) % _P
    return ((_mul(P[1], zi) % _P) | ((x & 1) << 255)).to_bytes(32, "little")


# A point under computation is a list [X, Y, Z, E, H]: extended coordinates whose T is
# kept as the factors E*H, since only an addition needs T. Table entries are tuples
# (Y+X, Y-X, 2d*T, 2Z), with None for 2Z when Z = 1. Both functions update P in place
# (returning a tuple would cost more than the call).

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
def _add(P, entry):
    # add-2008-hwcd-3 with a = -1, k = 2d.
    ypx, ymx, t2d, z2 = entry
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


def _cached(P):
    return (P[1] + P[0], P[1] - P[0], _mul(_mul(P[3], P[4]), _D2), P[2] << 1)


def _odd_multiples(x, y, count):
    # Table entries of P, 3P, 5P, ... (count of them) for the affine point (x, y).
    P = [x, y, 1, x, y]
    Q = list(P)
    _double(Q)
    twice = _cached(Q)
    for i in range(count):
        if i:
            _add(P, twice)
        yield _cached(P)


@micropython.native
def _wnaf(k, width):
    # Width-w NAF of k >= 0 as a flat list [position, odd digit, position, digit, ...].
    out = []
    full = 1 << width
    pos = 0
    while k:
        if k & 1:
            d = k & (full - 1)
            if d >= full >> 1:
                d -= full
            out.append(pos)
            out.append(d)
            k = (k - d) >> width  # the low `width` bits are zero now
            pos += width
        else:
            k >>= 1
            pos += 1
    return out


def _schedule(steps, k, width, table, negate=False):
    # Adds to steps[i] (a list per bit) the table entries that make k*P, or k*(-P) with
    # negate; table holds the odd multiples of P, as a list of entries or as affine
    # entries of 96 bytes (y+x, y-x, 2d*x*y little-endian) in a bytearray.
    digits = _wnaf(k, width)
    for i in range(0, len(digits), 2):
        pos = digits[i]
        j = abs(digits[i + 1]) >> 1
        if type(table) is list:
            e = table[j]
        else:
            j *= 96
            e = (int.from_bytes(table[j:j + 32], "little"), int.from_bytes(table[j + 32:j + 64], "little"),
                 int.from_bytes(table[j + 64:j + 96], "little"), None)
        if (digits[i + 1] < 0) != negate:
            e = (e[1], e[0], -e[2], e[3])
        while len(steps) <= pos:
            steps.append(None)
        if steps[pos] is None:
            steps[pos] = [e]
        else:
            steps[pos].append(e)


@micropython.native
def _run(steps):
    # Sum of 2^i times the entries of steps[i]: one doubling per bit, high bits first.
    P = [0, 1, 1, 0, 1]
    i = len(steps) - 1
    while i >= 0:
        _double(P)
        at = steps[i]
        if at is not None:
            for entry in at:
                _add(P, entry)
        i -= 1
    return P


def _affine_table(x, y, count, blob):
    # Fills blob with the affine odd multiples of (x, y), one inversion for all
    # (Montgomery's trick); 2/(2Z) = 1/Z turns an entry affine.
    entries = list(_odd_multiples(x, y, count))
    prods = []
    acc = 1
    for e in entries:
        acc = _mul(acc, e[3])
        prods.append(acc)
    inv = _inv(acc)
    for i in range(count - 1, -1, -1):
        w = (_mul(inv, prods[i - 1]) if i else inv) << 1
        inv = _mul(inv, entries[i][3])
        for n in range(3):
            blob[96 * i + 32 * n:96 * i + 32 * n + 32] = (_mul(entries[i][n], w) % _P).to_bytes(32, "little")
    return blob


# The tables of B and [2^128]B, 3 KB each: allocated at import, while the heap still has
# large free blocks, and filled at first use.
_base = (bytearray(96 << (_B_WIDTH - 2)), bytearray(96 << (_B_WIDTH - 2)))
_base_ready = False


def _base_mul(k):
    # The steps of k*B for 0 <= k < 2^256, as k_lo*B + k_hi*[2^128]B.
    global _base_ready
    if not _base_ready:
        _affine_table(_BX, _BY, 1 << (_B_WIDTH - 2), _base[0])
        P = [_BX, _BY, 1, _BX, _BY]
        for _ in range(128):
            _double(P)
        w = _inv(P[2])
        _affine_table(_mul(P[0], w) % _P, _mul(P[1], w) % _P, 1 << (_B_WIDTH - 2), _base[1])
        _base_ready = True
    steps = []
    _schedule(steps, k & _M128, _B_WIDTH, _base[0])
    _schedule(steps, k >> 128, _B_WIDTH, _base[1])
    return steps


_cache = []  # (public key, its affine table), newest last


def _key_table(key):
    for cached in _cache:
        if cached[0] == key:
            return cached[1]
    point = _decode(key)
    if point is None:
        return None
    if len(_cache) >= _CACHE_KEYS:
        _cache.pop(0)
    _cache.append((key, _affine_table(point[0], point[1], 1 << (_V_WIDTH - 2), bytearray(96 << (_V_WIDTH - 2)))))
    return _cache[-1][1]


def _half_size(k):
    # (c0, c1) with c0 = c1*k (mod 8L), c1 odd, |c0|, |c1| < 2^130: Euclid's algorithm
    # on (8L, k) stopped halfway; each remainder r and its coefficient t have r = t*k
    # (mod 8L), with |t| at most 8L over the previous remainder.
    r0, r1 = _L8, k
    t0, t1 = 0, 1
    while r1 >= _HALF:
        q = r0 // r1
        r0, r1 = r1, r0 - q * r1
        t0, t1 = t1, t0 - q * t1
    if t1 & 1:
        return r1, t1
    # t1 even, so t0 is odd (consecutive coefficients are coprime) and so is t0 - j*t1;
    # j balances r0 - j*r1 against |t0 - j*t1| (t0 and t1 differ in sign).
    j = (r0 - abs(t0)) // (r1 + abs(t1))
    c0, c1 = r0 - j * r1, t0 - j * t1
    if abs(c0) < _PAIR_MAX and abs(c1) < _PAIR_MAX:
        return c0, c1
    return k, 1  # no short pair with c1 odd: the full-size check, slower, as exact


def verify(public_key, message, signature):
    """True when signature is a valid Ed25519 signature of message by public_key
    (RFC 8032 5.1.7: [S]B = R + [k]A with k = SHA-512(R || A || M) mod L); False for
    anything else, including wrong lengths, S >= L and encodings that do not decode."""
    if len(public_key) != 32 or len(signature) != 64:
        return False
    public_key = bytes(public_key)
    signature = bytes(signature)
    s = int.from_bytes(signature[32:], "little")
    if s >= _L:
        return False
    r_point = _decode(signature[:32])
    if r_point is None:
        return False
    a_table = _key_table(public_key)
    if a_table is None:
        return False
    h = _sha512.sha512(signature[:32])
    h.update(public_key)
    h.update(message)
    c0, c1 = _half_size(int.from_bytes(h.digest(), "little") % _L)
    # Multiplying by c1 (odd, below L, so one-to-one on the group of order 8L) turns the
    # RFC's check into [c1*S mod L]B - [c1]R - [c0]A = 0, with half-size scalars.
    steps = _base_mul((c1 * s) % _L)
    _schedule(steps, abs(c1), _V_WIDTH, list(_odd_multiples(r_point[0], r_point[1], 1 << (_V_WIDTH - 2))), c1 > 0)
    _schedule(steps, abs(c0), _V_WIDTH, a_table, c0 > 0)
    P = _run(steps)
    return P[0] % _P == 0 and (P[1] - P[2]) % _P == 0


def _expand(seed):
    if len(seed) != 32:
        raise ValueError("Ed25519 seed must be 32 bytes")
    h = _sha512.digest(seed)
    a = int.from_bytes(h[:32], "little")
    return (a & ((1 << 254) - 8)) | (1 << 254), h[32:]


def public_key(seed):
    """The 32-byte public key of a 32-byte seed (RFC 8032 5.1.5)."""
    return _encode(_run(_base_mul(_expand(bytes(seed))[0] % _L)))


class SigningKey:
    """An Ed25519 key from its 32-byte seed; sign() is deterministic (RFC 8032 5.1.6)."""

    def __init__(self, seed):
        self._a, self._prefix = _expand(bytes(seed))
        self.public = _encode(_run(_base_mul(self._a % _L)))

    def sign(self, message):
        h = _sha512.sha512(self._prefix)
        h.update(message)
        r = int.from_bytes(h.digest(), "little") % _L
        R = _encode(_run(_base_mul(r)))
        h = _sha512.sha512(R)
        h.update(self.public)
        h.update(message)
        k = int.from_bytes(h.digest(), "little") % _L
        return R + ((r + k * self._a) % _L).to_bytes(32, "little")
