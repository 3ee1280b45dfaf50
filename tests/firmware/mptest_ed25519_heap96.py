# heapsize: 96K
# firmware: rom
"""Ed25519 signing and verification together within a 96K MicroPython heap (the
issue's target for a device that checks notices and signs receipts): key derivation,
RFC 8032 TEST 3's exact signature, and a signed 1 KiB message verified, in a fresh
interpreter whose heap is bounded. As in mptest_ed25519_heap.py, the firmware comes from
the ROMFS image, its bytecode outside the heap as on the board."""
import gc

gc.collect()
from meldbox.core import ed25519  # noqa: E402, I001

from mptest import eq  # noqa: E402


def test_rfc8032_test_3_signed_and_verified():
    key = ed25519.SigningKey(bytes.fromhex("c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7"))  # noqa: E501
    eq(key.public, bytes.fromhex("fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025"))  # noqa: E501
    signature = key.sign(b"\xaf\x82")
    eq(signature, bytes.fromhex("6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
                                "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"))
    eq(ed25519.verify(key.public, b"\xaf\x82", signature), True)


def test_receipt_sized_and_one_kib_messages():
    key = ed25519.SigningKey(bytes(range(100, 132)))
    for size in (200, 1024):
        message = bytearray(size)
        for i in range(size):
            message[i] = (i * 31 + size) & 255
        signature = key.sign(message)
        eq(ed25519.verify(key.public, message, signature), True, "%d bytes" % size)
        message[size // 2] ^= 1
        eq(ed25519.verify(key.public, message, signature), False, "%d bytes, altered" % size)
