"""Checkpoint receipts (PROTOCOL.md 4) made by the firmware's core/receipts.py on
MicroPython are byte for byte what pycose/cbor2 make from the same key and fields
(Ed25519 is deterministic), and verify with pycose."""

import hashlib
import json

import cbor2
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from meldbox_host import protocol
from tests.host import mphost

SEED = bytes(range(32))
CASES = [  # (seq, prev, pseq, ph, at, clock)
    (
        33,
        hashlib.sha256(b"receipt 32").digest(),
        32,
        hashlib.sha256(b"r32").digest(),
        1807776000,
        "rtc",
    ),
    (1000, bytes(range(32)), 960, bytes(32), 1830000000, "ntp"),
]

SNIPPET = """
import sys, json
from binascii import hexlify, unhexlify
from meldbox.core import cose, ed25519, receipts
key = ed25519.SigningKey(bytes(range(32)))
kid = cose.kid_of(key.public)
for c in json.loads(open(sys.argv[1]).read()):
    r = receipts.build(key, kid, "nl.hoster-a.desk-1", c[0], unhexlify(c[1]), "checkpoint",
                       c[4], c[5], pseq=c[2], ph=unhexlify(c[3]))
    print(hexlify(r).decode())
"""


@pytest.fixture(scope="module")
def firmware_receipts():
    data = json.dumps([[s, p.hex(), q, h.hex(), a, c] for s, p, q, h, a, c in CASES])
    out = mphost.run(SNIPPET, data=data.encode())
    return [bytes.fromhex(line) for line in out.split()]


@pytest.mark.parametrize("i", range(len(CASES)))
def test_firmware_checkpoint_matches_pycose(firmware_receipts, i):
    seq, prev, pseq, ph, at, clock = CASES[i]
    claims = {
        "v": 1,
        "t": "receipt",
        "dev": "nl.hoster-a.desk-1",
        "seq": seq,
        "prev": prev,
        "kind": "checkpoint",
        "at": at,
        "clock": clock,
        "pseq": pseq,
        "ph": ph,
    }
    priv = Ed25519PrivateKey.from_private_bytes(SEED)
    expected = protocol.sign(claims, priv)
    got = firmware_receipts[i]
    assert got == expected
    _, decoded = protocol.verify_sign1(got, priv.public_key())
    assert decoded == claims
    assert cbor2.loads(cbor2.loads(got).value[2]) == claims
