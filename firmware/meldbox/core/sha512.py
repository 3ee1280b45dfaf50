"""SHA-512 (FIPS 180-4), which MicroPython's hashlib lacks: sha512(data) with update(),
digest(), copy(); digest(data) in one call. Accepts bytes, bytearray and memoryview."""
# Three compression functions give the same results. Where a machine word has 64 bits (the
# unix port of the simulator, 64-bit boards) a @micropython.viper one does the rounds on
# native words, in about 80 times fewer instructions than the portable one on Python
# integers that CPython uses. 32-bit boards (Cortex-M) get a viper one on 32-bit halves
# (sha512_w32.py, about 36 times fewer than the portable one there). Ed25519 hashes each
# signed message, so this speed is a large part of a signature check
# (bench/crypto-notes.md).
import sys

from meldbox.compat import micropython

_BLOCK = 128
_MASK = 0xFFFFFFFFFFFFFFFF
# Round constants and initial state: big-endian 64-bit words (as bytes: 80 ints would
# take 5 KB of heap).
_K = bytes.fromhex(
    "428a2f98d728ae22 7137449123ef65cd b5c0fbcfec4d3b2f e9b5dba58189dbbc "
    "3956c25bf348b538 59f111f1b605d019 923f82a4af194f9b ab1c5ed5da6d8118 "
    "d807aa98a3030242 12835b0145706fbe 243185be4ee4b28c 550c7dc3d5ffb4e2 "
    "72be5d74f27b896f 80deb1fe3b1696b1 9bdc06a725c71235 c19bf174cf692694 "
    "e49b69c19ef14ad2 efbe4786384f25e3 0fc19dc68b8cd5b5 240ca1cc77ac9c65 "
    "2de92c6f592b0275 4a7484aa6ea6e483 5cb0a9dcbd41fbd4 76f988da831153b5 "
    "983e5152ee66dfab a831c66d2db43210 b00327c898fb213f bf597fc7beef0ee4 "
    "c6e00bf33da88fc2 d5a79147930aa725 06ca6351e003826f 142929670a0e6e70 "
    "27b70a8546d22ffc 2e1b21385c26c926 4d2c6dfc5ac42aed 53380d139d95b3df "
    "650a73548baf63de 766a0abb3c77b2a8 81c2c92e47edaee6 92722c851482353b "
    "a2bfe8a14cf10364 a81a664bbc423001 c24b8b70d0f89791 c76c51a30654be30 "
    "d192e819d6ef5218 d69906245565a910 f40e35855771202a 106aa07032bbd1b8 "
    "19a4c116b8d2d0c8 1e376c085141ab53 2748774cdf8eeb99 34b0bcb5e19b48a8 "
    "391c0cb3c5c95a63 4ed8aa4ae3418acb 5b9cca4f7763e373 682e6ff3d6b2b8a3 "
    "748f82ee5defb2fc 78a5636f43172f60 84c87814a1f0ab72 8cc702081a6439ec "
    "90befffa23631e28 a4506cebde82bde9 bef9a3f7b2c67915 c67178f2e372532b "
    "ca273eceea26619c d186b8c721c0c207 eada7dd6cde0eb1e f57d4f7fee6ed178 "
    "06f067aa72176fba 0a637dc5a2c898a6 113f9804bef90dae 1b710b35131c471b "
    "28db77f523047d84 32caab7b40c72493 3c9ebe0a15c9bebc 431d67c49c100d4c "
    "4cc5d4becb3e42b6 597f299cfc657e2a 5fcb6fab3ad6faec 6c44198c4a475817"
)
_IV = bytes.fromhex(
    "6a09e667f3bcc908 bb67ae8584caa73b 3c6ef372fe94f82b a54ff53a5f1d36f1 "
    "510e527fade682d1 9b05688c2b3e6c1f 1f83d9abfb41bd6b 5be0cd19137e2179"
)
_k_ints = None  # the round constants as ints, made at first use of the portable path


def _compress_ints(state, data, off, nblocks):
    # state: list of 8 ints. A word doubled to 128 bits (x | x << 64) makes each 64-bit
    # rotation one shift, the three of a sum sharing one mask.
    global _k_ints
    if _k_ints is None:
        _k_ints = [int.from_bytes(_K[i:i + 8], "big") for i in range(0, 640, 8)]
    K = _k_ints
    M = _MASK
    w = [0] * 80
    while nblocks:
        for t in range(16):
            w[t] = int.from_bytes(data[off + 8 * t:off + 8 * t + 8], "big")
        for t in range(16, 80):
            x = w[t - 15]
            xx = x | (x << 64)
            y = w[t - 2]
            yy = y | (y << 64)
            w[t] = ((((xx >> 1) ^ (xx >> 8)) & M ^ (x >> 7))
                    + (((yy >> 19) ^ (yy >> 61)) & M ^ (y >> 6)) + w[t - 7] + w[t - 16]) & M
        a, b, c, d, e, f, g, h = state
        for t in range(80):
            ee = e | (e << 64)
            t1 = h + (((ee >> 14) ^ (ee >> 18) ^ (ee >> 41)) & M) + (g ^ (e & (f ^ g))) + K[t] + w[t]  # noqa: E501
            aa = a | (a << 64)
            t2 = (((aa >> 28) ^ (aa >> 34) ^ (aa >> 39)) & M) + ((a & b) | (c & (a | b)))
            h = g
            g = f
            f = e
            e = (d + t1) & M
            d = c
            c = b
            b = a
            a = (t1 + t2) & M
        for i, v in enumerate((a, b, c, d, e, f, g, h)):
            state[i] = (state[i] + v) & M
        off += _BLOCK
        nblocks -= 1


# The viper paths keep 64-bit words in bytearrays as native (little-endian) pairs of
# 32-bit halves, since viper has no 64-bit pointer; viper uint arithmetic wraps at 64 bits
# on 64-bit builds.
_VIPER = sys.implementation.name == "micropython" and sys.byteorder == "little"
_FAST = None  # the compression function of the viper path this build uses, if any

if _VIPER and sys.maxsize > 0xFFFFFFFF:
    @micropython.viper
    def _compress_viper(st, data, off: int, nblocks: int, wk, kk):
        S = ptr32(st)
        W = ptr32(wk)
        K = ptr32(kk)
        D = ptr8(data)
        while nblocks > 0:
            for t in range(16):
                o = off + 8 * t
                W[2 * t + 1] = (D[o] << 24) | (D[o + 1] << 16) | (D[o + 2] << 8) | D[o + 3]
                W[2 * t] = (D[o + 4] << 24) | (D[o + 5] << 16) | (D[o + 6] << 8) | D[o + 7]
            for t in range(32, 160, 2):
                x = uint(W[t - 30]) | (uint(W[t - 29]) << 32)
                y = uint(W[t - 4]) | (uint(W[t - 3]) << 32)
                v = (uint(W[t - 14]) | (uint(W[t - 13]) << 32)) + (uint(W[t - 32]) | (uint(W[t - 31]) << 32))  # noqa: E501
                v += ((x >> 1) | (x << 63)) ^ ((x >> 8) | (x << 56)) ^ (x >> 7)
                v += ((y >> 19) | (y << 45)) ^ ((y >> 61) | (y << 3)) ^ (y >> 6)
                W[t] = v
                W[t + 1] = v >> 32
            a = uint(S[0]) | (uint(S[1]) << 32)
            b = uint(S[2]) | (uint(S[3]) << 32)
            c = uint(S[4]) | (uint(S[5]) << 32)
            d = uint(S[6]) | (uint(S[7]) << 32)
            e = uint(S[8]) | (uint(S[9]) << 32)
            f = uint(S[10]) | (uint(S[11]) << 32)
            g = uint(S[12]) | (uint(S[13]) << 32)
            h = uint(S[14]) | (uint(S[15]) << 32)
            for t in range(0, 160, 2):
                t1 = (h + (((e >> 14) | (e << 50)) ^ ((e >> 18) | (e << 46)) ^ ((e >> 41) | (e << 23)))  # noqa: E501
                      + (g ^ (e & (f ^ g))) + (uint(K[t]) | (uint(K[t + 1]) << 32))
                      + (uint(W[t]) | (uint(W[t + 1]) << 32)))
                t2 = ((((a >> 28) | (a << 36)) ^ ((a >> 34) | (a << 30)) ^ ((a >> 39) | (a << 25)))
                      + ((a & b) | (c & (a | b))))
                h = g
                g = f
                f = e
                e = d + t1
                d = c
                c = b
                b = a
                a = t1 + t2
            # Add the working words into the state, through W's first words (free now).
            W[0] = a
            W[1] = a >> 32
            W[2] = b
            W[3] = b >> 32
            W[4] = c
            W[5] = c >> 32
            W[6] = d
            W[7] = d >> 32
            W[8] = e
            W[9] = e >> 32
            W[10] = f
            W[11] = f >> 32
            W[12] = g
            W[13] = g >> 32
            W[14] = h
            W[15] = h >> 32
            for i in range(0, 16, 2):
                v = (uint(S[i]) | (uint(S[i + 1]) << 32)) + (uint(W[i]) | (uint(W[i + 1]) << 32))
                S[i] = v
                S[i + 1] = v >> 32
            off += 128
            nblocks -= 1

    _FAST = _compress_viper
elif _VIPER:
    try:
        from meldbox.core.sha512_w32 import compress as _FAST
    except (ImportError, SyntaxError, ValueError):  # a build without the viper emitter
        pass

if _VIPER:
    def _native(words):
        # big-endian words -> native little-endian words
        out = bytearray(len(words))
        for i in range(0, len(words), 8):
            out[i:i + 8] = int.from_bytes(words[i:i + 8], "big").to_bytes(8, "little")
        return out

    _K_NATIVE = _native(_K)
    _IV_NATIVE = bytes(_native(_IV))
    _W = bytearray(640)  # message schedule, shared: a compression never nests


class sha512:
    """hashlib-style SHA-512: update() any number of times, digest() at any point."""

    digest_size = 64
    block_size = _BLOCK

    def __init__(self, data=b"", _fast=_FAST):
        # _fast: a viper compression function (tests choose), None for the portable one.
        self._fast = _fast
        if _fast:
            self._state = bytearray(_IV_NATIVE)
        else:
            self._state = [int.from_bytes(_IV[i:i + 8], "big") for i in range(0, 64, 8)]
        self._buf = bytearray(_BLOCK)
        self._used = 0  # bytes waiting in _buf
        self._length = 0  # bytes taken in so far
        if data:
            self.update(data)

    def _compress(self, data, off, nblocks):
        if self._fast:
            self._fast(self._state, data, off, nblocks, _W, _K_NATIVE)
        else:
            _compress_ints(self._state, data, off, nblocks)

    def update(self, data):
        data = memoryview(data)
        n = len(data)
        self._length += n
        pos = 0
        used = self._used
        if used:
            pos = min(_BLOCK - used, n)
            self._buf[used:used + pos] = data[:pos]
            used += pos
            if used < _BLOCK:
                self._used = used
                return
            self._compress(self._buf, 0, 1)
        whole = (n - pos) // _BLOCK
        if whole:
            self._compress(data, pos, whole)
            pos += whole * _BLOCK
        self._used = n - pos
        self._buf[:n - pos] = data[pos:]

    def copy(self):
        other = sha512(_fast=self._fast)
        other._state[:] = self._state
        other._buf[:] = self._buf
        other._used = self._used
        other._length = self._length
        return other

    def digest(self):
        # Pads a copy, so that this object can go on taking data, as hashlib's does.
        done = self.copy()
        used = done._used
        tail = bytearray(2 * _BLOCK)
        tail[:used] = done._buf[:used]
        tail[used] = 0x80
        end = _BLOCK if used < _BLOCK - 16 else 2 * _BLOCK
        tail[end - 16:end] = (done._length * 8).to_bytes(16, "big")
        done._compress(tail, 0, end // _BLOCK)
        out = b""
        for i in range(8):
            if self._fast:
                out += int.from_bytes(done._state[8 * i:8 * i + 8], "little").to_bytes(8, "big")
            else:
                out += done._state[i].to_bytes(8, "big")
        return out

    def hexdigest(self):
        return "".join("%02x" % b for b in self.digest())


def digest(data):
    """SHA-512 of data in one call."""
    return sha512(data).digest()
