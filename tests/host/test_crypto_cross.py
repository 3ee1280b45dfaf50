"""The firmware's SHA-512 and Ed25519, run on MicroPython, against CPython's hashlib and
`cryptography` (OpenSSL): random keys, messages and one-bit alterations, signatures
byte for byte, and keys or signatures carrying small-order points, where a fast check
can drift from the RFC's equation, on both Ed25519 paths (the build's, and the 32-bit
boards' viper one) and all three SHA-512 paths. All MicroPython cases run in one
process, the data passing through a file."""

import hashlib
import random
import sys
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tests.host import mphost

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "firmware"))
from meldbox.core import ed25519 as fw_ed25519  # noqa: E402  (the firmware module, on CPython)
from meldbox.core import sha512 as fw_sha512  # noqa: E402

# Runs every case line of the data file: "V key message signature" prints 1 or 0,
# "S seed message" the signature, "H path message" the SHA-512 (path 0 portable, 1 the
# build's viper, 2 the viper on 32-bit halves; hex fields, "-" empty); "W 1" switches
# Ed25519 to the 32-bit boards' path (ed25519_w32), "W 0" back; it prints nothing.
SNIPPET = """
import sys
from meldbox.core import ed25519, ed25519_w32, sha512, sha512_w32

PATHS = {"0": None, "1": sha512._FAST, "2": sha512_w32.compress}

def field(text):
    return b"" if text == "-" else bytes.fromhex(text)

with open(sys.argv[1]) as f:
    for line in f:
        kind, *args = line.split()
        if kind == "V":
            print(1 if ed25519.verify(field(args[0]), field(args[1]), field(args[2])) else 0)
        elif kind == "S":
            print(ed25519.SigningKey(field(args[0])).sign(field(args[1])).hex())
        elif kind == "W":
            ed25519._W32 = ed25519_w32 if args[0] == "1" else None
        else:
            print(sha512.sha512(field(args[1]), _fast=PATHS[args[0]]).digest().hex())
"""

# A small reference of Edwards arithmetic (plain mod-p extended coordinates, as in
# RFC 8032 section 5.1.4), to make keys and signatures with small-order components,
# which cryptography cannot make.
P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
D = -121665 * pow(121666, P - 2, P) % P


def _add(p1, p2):
    x1, y1, z1, t1 = p1
    x2, y2, z2, t2 = p2
    a, b = (y1 - x1) * (y2 - x2) % P, (y1 + x1) * (y2 + x2) % P
    c, d = 2 * D * t1 * t2 % P, 2 * z1 * z2 % P
    e, f, g, h = b - a, d - c, d + c, b + a
    return e * f % P, g * h % P, f * g % P, e * h % P


def _mul(k, point):
    out = (0, 1, 1, 0)
    while k:
        if k & 1:
            out = _add(out, point)
        point = _add(point, point)
        k >>= 1
    return out


def _decode(s):
    y = int.from_bytes(s, "little") & ((1 << 255) - 1)
    xx = (y * y - 1) * pow(D * y * y + 1, P - 2, P) % P
    x = pow(xx, (P + 3) // 8, P)
    if (x * x - xx) % P:
        x = x * pow(2, (P - 1) // 4, P) % P
    assert (x * x - xx) % P == 0
    x = P - x if (x & 1) != s[31] >> 7 else x
    return x, y, 1, x * y % P


def _encode(point):
    zi = pow(point[2], P - 2, P)
    x, y = point[0] * zi % P, point[1] * zi % P
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


BASE = _decode((4 * pow(5, P - 2, P) % P).to_bytes(32, "little"))
# Points of order 2, 4 and 8 (the order-8 ones from libsodium's list of small-order points).
SMALL = [
    _decode(bytes.fromhex(h))
    for h in (
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "0000000000000000000000000000000000000000000000000000000000000000",
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    )
]


def _h(*parts):
    return int.from_bytes(hashlib.sha512(b"".join(parts)).digest(), "little")


def _torsion_case(rnd):
    """A signature that would pass a cofactored check, with a small-order point added to
    the key or to R; whether the RFC's cofactorless check holds depends on the hash."""
    seed = rnd.randbytes(32)
    h = hashlib.sha512(seed).digest()
    a = (int.from_bytes(h[:32], "little") & ((1 << 254) - 8)) | (1 << 254)
    message = rnd.randbytes(rnd.randrange(60))
    key_point = _mul(a, BASE)
    r = _h(h[32:], message) % L
    r_point = _mul(r, BASE)
    if rnd.random() < 0.5:
        key_point = _add(key_point, rnd.choice(SMALL))
    else:
        r_point = _add(r_point, rnd.choice(SMALL))
    key, r_bytes = _encode(key_point), _encode(r_point)
    s = (r + _h(r_bytes, key, message) % L * a) % L
    return key, message, r_bytes + s.to_bytes(32, "little")


def _cryptography_verifies(key, message, signature):
    try:
        Ed25519PublicKey.from_public_bytes(key).verify(signature, message)
    except InvalidSignature:
        return False
    return True


def _hex(data):
    return data.hex() or "-"


def _flip_one_bit(rnd, data):
    out = bytearray(data)
    bit = rnd.randrange(8 * len(out))
    out[bit >> 3] ^= 1 << (bit & 7)
    return bytes(out)


def test_cross_check_with_cryptography_and_hashlib():
    rnd = random.Random(20250611)
    lines, expected, what = [], [], []

    for i in range(200):
        private = Ed25519PrivateKey.from_private_bytes(rnd.randbytes(32))
        key = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        message = rnd.randbytes(rnd.choice((0, 1, rnd.randrange(300), rnd.randrange(1100))))
        signature = private.sign(message)
        lines.append("V %s %s %s" % (key.hex(), _hex(message), signature.hex()))
        expected.append("1")
        what.append("valid signature %d" % i)
        if message and rnd.random() < 0.5:
            message = _flip_one_bit(rnd, message)
        else:
            signature = _flip_one_bit(rnd, signature)
        assert not _cryptography_verifies(key, message, signature)
        lines.append("V %s %s %s" % (key.hex(), _hex(message), signature.hex()))
        expected.append("0")
        what.append("altered signature %d" % i)

    for i in range(40):
        seed = rnd.randbytes(32)
        message = rnd.randbytes(rnd.randrange(400))
        lines.append("S %s %s" % (seed.hex(), _hex(message)))
        expected.append(Ed25519PrivateKey.from_private_bytes(seed).sign(message).hex())
        what.append("signature %d" % i)

    verdicts = set()
    for i in range(40):
        key, message, signature = _torsion_case(rnd)
        verdict = _cryptography_verifies(key, message, signature)
        verdicts.add(verdict)
        lines.append("V %s %s %s" % (key.hex(), _hex(message), signature.hex()))
        expected.append("1" if verdict else "0")
        what.append("small-order case %d" % i)
    assert verdicts == {True, False}, "the small-order cases should include both verdicts"

    # Every signature and verdict so far (small-order cases included) again on the
    # 32-bit boards' path (ed25519_w32 on viper limbs), which this build can run too.
    count = len(lines)
    lines.append("W 1")
    lines.extend(lines[:count])
    expected.extend(expected[:count])
    what.extend(w + " (32-bit path)" for w in what[:count])
    lines.append("W 0")

    for i in range(300):
        n = rnd.randrange(1101)
        message = rnd.randbytes(n)
        path = i % 3  # a third each: portable, viper, viper on 32-bit halves
        lines.append("H %d %s" % (path, _hex(message)))
        expected.append(hashlib.sha512(message).hexdigest())
        what.append("SHA-512 of %d bytes (path %d)" % (n, path))

    out = mphost.run(SNIPPET, data=("\n".join(lines) + "\n").encode(), timeout=300).split()
    assert len(out) == len(expected)
    wrong = [w for w, got, want in zip(what, out, expected) if got != want]
    assert not wrong, "%d mismatches, first: %s" % (len(wrong), wrong[:5])


def test_firmware_code_on_cpython_matches_cryptography():
    # The same modules import on CPython and give the same answers there.
    rnd = random.Random(7)
    for _ in range(5):
        seed, message = rnd.randbytes(32), rnd.randbytes(rnd.randrange(200))
        signature = Ed25519PrivateKey.from_private_bytes(seed).sign(message)
        key = fw_ed25519.SigningKey(seed)
        assert key.sign(message) == signature
        assert fw_ed25519.verify(key.public, message, signature)
        assert not fw_ed25519.verify(key.public, message + b"!", signature)
        assert fw_sha512.digest(message) == hashlib.sha512(message).digest()
