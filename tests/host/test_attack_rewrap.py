"""Re-wrapping a genuine notice on the path (issue 10): untag it or add unprotected
labels, deliver it first. The copy must get the original's receipt or be refused, and
never block the genuine one. Raw UDP and hand-made COSE (tests/host/attacker.py)."""

import hashlib

import cbor2

from tests.host.attacker import Issuer, Peer
from tests.host.simdevice import SimDevice

DEV = "nl.hoster-a.desk-1"


def signed_part_hash(cose):
    """nh as PROTOCOL.md 2 defines it, computed here from the raw CBOR."""
    obj = cbor2.loads(cose)
    parts = obj.value if isinstance(obj, cbor2.CBORTag) else obj
    return hashlib.sha256(cbor2.dumps([parts[0], parts[2], parts[3]])).digest()


def rewrap(cose, unprotected, tagged):
    parts = cbor2.loads(cose).value
    parts[1] = unprotected
    return cbor2.dumps(cbor2.CBORTag(18, parts) if tagged else parts)


def test_a_rewrapped_copy_gets_the_originals_receipt_and_never_blocks_it(tmp_path):
    hotline = Issuer("nl.eokm")
    dev = SimDevice(tmp_path / "dev", "--device-id", DEV, "--trust", hotline.trust_flag())
    dev.start()
    try:
        attacker, genuine = Peer(dev.udp, "127.0.0.7"), Peer(dev.udp)
        for n, unprotected in enumerate(
            ({4: hotline.kid}, {4: hotline.kid, 99: b"\0" * 600}, {4: hotline.kid, -1: 1}, {})
        ):
            cose = hotline.sign(hotline.claims("notice", DEV))
            copy = rewrap(cose, unprotected, tagged=False)
            first = attacker.post(copy)
            if unprotected.keys() - {4}:
                assert first.code_text == "4.00", first.code_text
                assert "unprotected" in first.problem()[-2]
            elif not unprotected:
                assert first.code_text == "4.00"  # no kid at all
            else:
                assert first.code_text == "2.01", first.code_text
            reply = genuine.post(cose)
            assert reply.code_text == "2.01", (n, reply.code_text, reply.payload)
            receipt = reply.receipt()
            assert receipt["nh"] == signed_part_hash(cose)
            if first.code_text == "2.01":
                assert reply.payload == first.payload  # byte-identical receipt
        attacker.close()
        genuine.close()
    finally:
        dev.stop()
