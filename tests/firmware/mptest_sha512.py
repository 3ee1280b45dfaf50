"""SHA-512 on MicroPython: FIPS 180-4 / NIST example vectors and digests at the block
boundaries, for all three compression functions (the viper one on 64-bit words this 64-bit
build uses, the viper one on 32-bit halves of Cortex-M boards, which gives the same results
on any word size, and the portable one); incremental updates across block boundaries; the
hashlib-style object's behaviour (digest mid-stream, copy, bytes-like input)."""
import sys

from mptest import eq

from meldbox.core import sha512, sha512_w32

# NIST's examples for SHA-512 (FIPS 180-4 example messages).
NIST = [
    ("empty", b"",
     "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"),
    ("abc", b"abc",
     "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"),
    ("448 bits", b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
     "204a8fc6dda82f0a0ced7beb8e08a41657c16ef468b228a8279be331a703c33596fd15c13b1b07f9aa1d3bea57789ca031ad85c7a71dd70354ec631238ca3445"),
    ("896 bits", b"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",  # noqa: E501
     "8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909"),
]

# Digests of _message(n), from CPython's hashlib: lengths around the 112-byte limit of
# a one-block tail (16 bytes hold the length) and the 128-byte block.
BOUNDARIES = [
    (111, "c81588f7b29fd580dcb2ca708f2b58717a1dd028a25cb1cdcf3c09290312284d03e2421fb18710f4dc98670ea44d2e6f1f638d8b5e465431c44ed285ae7c11ae"),  # noqa: E501
    (112, "6b82e3981ff49bf14b60e0986231f76120ef510efd89c336e1e76086da536e59d357e069971e8fe4c4d8e0e451f364abeae8fe8ca7f92da2dd4640498d46dd7f"),  # noqa: E501
    (127, "ce7f3509b998ac61c2513a12118166cb3a60fe01def0026db9ee708dbe2682cbb18ad33170ec54d4c4eac5e371456e64831190669c3fecc5b5ac25b4fea4adc7"),  # noqa: E501
    (128, "f15818d610f80f1bf016c361c138aed2b8c4cda61390e77903bb6380fd79423615fadf14380e4db96e3cdfb8f737239653205a41bb7139f613c41a80a12e7fdc"),  # noqa: E501
    (129, "261cffcb6002c9eb5a63e483f2293835fa541309378ce6acf3e837e31be13200014f9523af6d92f10c6f30e605de5c7e0f0ca1a324296a18c34c53f57037ea2a"),  # noqa: E501
    (239, "9d8efda6b60ef984eb0f8a5fd7218c02abf6285e59f7890e207cd717d9732e2d766fdfd7dae2fdf15484374f6d738eedeeb102ad8cfcbd1586c71d4d17b0bffb"),  # noqa: E501
    (240, "8ea93bf64cbb10d9c296ee6369443009a80f39fa1acbc2cd64349c38fff5b77066d0e9d324e8b9df80f8a9df45e4a73b1f049e1b91b5682c7bda3ea7d3dd8bc4"),  # noqa: E501
    (256, "b7cef8198828f9e22bed31dcc4ae46d71b6ffa9a91e53a9351790575503182657876d10b308f96bd84119df72444732bd25e563be2e12ae7819fce709cb4a029"),  # noqa: E501
]

PATHS = (("viper", sha512._FAST), ("viper32", sha512_w32.compress), ("portable", None))


def _message(n):
    return bytes((i * 13 + 7) & 255 for i in range(n))


def _check(data, expected, fast):
    eq(sha512.sha512(data, _fast=fast).digest(), bytes.fromhex(expected))


def cases():
    out = []
    for path, fast in PATHS:
        for name, data, expected in NIST:
            out.append(("%s: NIST %s" % (path, name), lambda d=data, e=expected, f=fast: _check(d, e, f)))  # noqa: E501
        for n, expected in BOUNDARIES:
            out.append(("%s: %d bytes" % (path, n), lambda n=n, e=expected, f=fast: _check(_message(n), e, f)))  # noqa: E501
    return out


def test_viper_path_on_this_build():
    # The unix port here has 64-bit words: the fast path must be the one in use.
    eq(sys.maxsize > 2**32, True)
    eq(sha512._VIPER, True)
    eq(sha512._FAST is sha512._compress_viper, True)
    eq(sha512.sha512()._fast is sha512._compress_viper, True)


def test_one_million_a():
    h = sha512.sha512()
    chunk = b"a" * 1000
    for _ in range(1000):
        h.update(chunk)
    eq(h.hexdigest(), "e718483d0ce769644e2e42c7bc15b4638e1f98b13b2044285632a803afa973eb"
                      "de0ff244877ea60a4cb0432ce577c31beb009c5c2c49aa2e4eadb217ad8cc09b")


def test_incremental_equals_one_shot():
    data = _message(700)
    for _, fast in PATHS:
        for n in (0, 1, 111, 112, 113, 127, 128, 129, 255, 256, 257, 700):
            whole = sha512.sha512(data[:n], _fast=fast).digest()
            for step in (1, 7, 64, 111, 127, 128, 129, 300):
                h = sha512.sha512(_fast=fast)
                for i in range(0, n, step):
                    h.update(data[i:min(i + step, n)])
                eq(h.digest(), whole, "n=%d step=%d fast=%s" % (n, step, fast))


def test_paths_agree_on_every_length():
    data = _message(300)
    for n in range(300):
        want = sha512.digest(data[:n])
        eq(sha512.sha512(data[:n], _fast=None).digest(), want, "length %d" % n)
        eq(sha512.sha512(data[:n], _fast=sha512_w32.compress).digest(), want, "length %d" % n)


def test_paths_agree_on_carry_heavy_data():
    # All-ones and pseudo-random blocks drive every 32-bit half sum through its carries.
    data = b"\xff" * 640 + bytes((i * 2654435761 >> 7) & 255 for i in range(1000))
    for n in (128, 640, 1024, 1640):
        want = sha512.sha512(data[:n], _fast=None).digest()
        eq(sha512.sha512(data[:n], _fast=sha512_w32.compress).digest(), want, "length %d" % n)
        eq(sha512.digest(data[:n]), want, "length %d" % n)


def test_bytes_like_input():
    data = _message(300)
    expected = sha512.digest(data)
    eq(sha512.digest(bytearray(data)), expected)
    eq(sha512.digest(memoryview(data)), expected)
    h = sha512.sha512(memoryview(data)[:100])
    h.update(bytearray(data[100:250]))
    h.update(memoryview(data)[250:])
    eq(h.digest(), expected)


def test_digest_mid_stream_and_copy():
    data = _message(400)
    for _, fast in PATHS:
        h = sha512.sha512(data[:150], _fast=fast)
        eq(h.digest(), sha512.sha512(data[:150], _fast=fast).digest(), "first digest")
        eq(h.digest(), h.digest(), "digest twice")
        other = h.copy()
        h.update(data[150:])
        eq(h.digest(), sha512.digest(data), "went on after digest")
        eq(other.digest(), sha512.digest(data[:150]), "copy unaffected")
        other.update(b"x")
        eq(other.digest(), sha512.digest(data[:150] + b"x"), "copy goes its own way")
