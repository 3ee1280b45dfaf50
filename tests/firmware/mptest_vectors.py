# heapsize: 1M
# (not the device's 256K: the first Ed25519 use currently fragments a 256K heap so that
# 8 KB buffers no longer fit; these tests check logic, bench/mp_verify_notice.py the heap)
"""The shared test vectors (tests/data/notices.json) on MicroPython: every notice gets the
verdict and CoAP code the vectors demand, every receipt is reproduced byte for byte from
its fields with the device seed, and the receipts form the prev hash chain."""
import hashlib  # noqa: F401, I001
import json
from binascii import hexlify, unhexlify

from mptest import eq, raises
from meldbox.core import cbor, cose, ed25519, errors, receipts
from meldbox.core.messages import Notice, Ping, Withdraw, verify_message
from meldbox.core.trust import TrustStore


def _data_path():
    here = __file__.rsplit("/", 1)[0] if "/" in __file__ else "."
    return here + "/../data/notices.json"


with open(_data_path()) as f:
    V = json.load(f)   # streamed: the hex text is never held twice
NOW = V["now"]
DEVICE_ID = V["device_id"]
TRUST = TrustStore.from_list([{"iss": k["iss"], "key": unhexlify(k["key"]),
                               "not_after": k.get("not_after"),
                               "revoked": k.get("revoked", False)} for k in V["trust"]])
for _case in V["notices"]:
    _case["cose"] = unhexlify(_case["cose"])
for _case in V["receipts"]:
    _case["cose"] = unhexlify(_case["cose"])
CLASSES = {"notice": Notice, "withdraw": Withdraw, "ping": Ping}


def _check_notice(case):
    raw = case["cose"]
    if case["verdict"] == "accept":
        msg = verify_message(raw, TRUST, DEVICE_ID, NOW)
        assert isinstance(msg, CLASSES[msg.t]), msg.t
        eq(msg.aud, DEVICE_ID, "aud")
        eq(msg.raw, raw, "raw")
        eq(hexlify(msg.nh).decode(), case["nh"], "nh")
        claims = cbor.loads(cose.decode_sign1(raw).payload)
        eq(msg.id, claims["id"], "id")
        eq(msg.iat, claims["iat"], "iat")
        # The key that signed it belongs to the issuer the message names.
        assert msg.iss in [k.iss for k in TRUST.lookup(msg.kid)], msg.iss
    else:
        e = raises(errors.ProtocolError, verify_message, raw, TRUST, DEVICE_ID, NOW)
        eq(errors.code_text(e.code), case["code"], "code (%s: %s)" % (type(e).__name__, e.detail))


def _receipt_fields(case):
    fields = dict(case["fields"])
    for name in case["bytes_fields"]:
        fields[name] = unhexlify(fields[name])
    return fields


def _device_key():
    key = ed25519.SigningKey(unhexlify(V["device_private_seed"]))
    eq(hexlify(key.public).decode(), V["device_public_key"], "device public key")
    return key


def _check_receipt(index):
    case = V["receipts"][index]
    f = _receipt_fields(case)
    key = _device_key()
    built = receipts.build(key, cose.kid_of(key.public), f["dev"], f["seq"], f["prev"],
                           f["kind"], f["at"], f["clock"], iss=f.get("iss"), nid=f.get("nid"),
                           nh=f.get("nh"), reason=f.get("reason"), note=f.get("note"),
                           state=f.get("state"), pseq=f.get("pseq"), ph=f.get("ph"))
    eq(hexlify(built).decode(), hexlify(case["cose"]).decode(), "receipt bytes")
    eq(receipts.decode(built), f, "decoded payload")
    assert cose.verify(cose.decode_sign1(built), key.public)


def test_receipt_chain_links():
    prev = receipts.ZERO_HASH
    for case in V["receipts"]:
        f = _receipt_fields(case)
        eq(f["prev"], prev, "prev of seq %d" % f["seq"])
        prev = receipts.chain_hash(case["cose"])


def test_vectors_cover_every_verdict():
    codes = set(c.get("code") for c in V["notices"])
    for code in (None, "4.00", "4.01", "4.03", "4.13"):
        assert code in codes, code


def cases():
    out = []
    for case in V["notices"]:
        label = "%s (%s)" % (case["name"], case.get("code") or "accept")
        out.append(("notice: " + label, lambda case=case: _check_notice(case)))
    for i in range(len(V["receipts"])):
        label = "receipt seq %d %s" % (V["receipts"][i]["fields"]["seq"],
                                       V["receipts"][i]["fields"]["kind"])
        out.append((label, lambda i=i: _check_receipt(i)))
    return out
