"""meldbox_host.protocol against the shared vectors (tests/data/notices.json): signing with
pycose reproduces the device's receipt bytes, verify_receipt and ReceiptChain accept the
vector chain and catch gaps, forks and forgeries, and the key file round-trips."""

import json
import os
import stat
import time
from pathlib import Path

import cbor2
import pytest
from pycose.keys import OKPKey
from pycose.keys.curves import Ed25519
from pycose.messages import Sign1Message

from meldbox_host import protocol as P

VECTORS = json.loads((Path(__file__).resolve().parents[1] / "data" / "notices.json").read_text())
DEVICE_SEED = bytes.fromhex(VECTORS["device_private_seed"])
DEVICE_PUB = bytes.fromhex(VECTORS["device_public_key"])
TRUST_BY_KID = {
    P.kid_of(bytes.fromhex(t["key"])): bytes.fromhex(t["key"]) for t in VECTORS["trust"]
}


def receipt_fields(vector):
    fields = dict(vector["fields"])
    for name in vector["bytes_fields"]:
        fields[name] = bytes.fromhex(fields[name])
    return fields


RECEIPTS = [(receipt_fields(r), bytes.fromhex(r["cose"])) for r in VECTORS["receipts"]]


def notice(name):
    return bytes.fromhex(next(n["cose"] for n in VECTORS["notices"] if n["name"] == name))


# --- signing ---------------------------------------------------------------------------------
@pytest.mark.parametrize("index", range(len(RECEIPTS)))
def test_sign_with_pycose_reproduces_vector_receipt_bytes(index):
    fields, cose = RECEIPTS[index]
    assert P.sign(fields, DEVICE_SEED) == cose
    assert P.sign_raw(P.encode_claims(fields), DEVICE_SEED) == cose


def test_signed_notice_decodes_and_verifies_with_pycose():
    key = P.HotlineKey.generate("nl.test")
    claims = P.build_notice(
        "nl.test", "dev-1", ["https://a.example/x"], cat="csam", iat=1800000000
    )
    cose = P.sign(claims, key)
    assert cose[0] == 0xD2  # tag 18
    msg = Sign1Message.decode(cose)
    msg.key = OKPKey(crv=Ed25519, x=key.public)
    assert msg.verify_signature()
    assert msg.phdr_encoded == b"\xa1\x01\x27"
    s1 = P.decode_sign1(cose)
    assert s1.unprotected == {4: key.kid} and s1.protected == {1: -8}
    assert cbor2.loads(s1.payload) == claims
    assert s1.payload == cbor2.dumps(claims, canonical=True)


def test_kid_is_sha256_prefix_and_matches_vector_notice_kid():
    eokm = bytes.fromhex(VECTORS["trust"][0]["key"])
    s1 = P.decode_sign1(notice("minimal notice"))
    assert P.kid_of(eokm) == s1.unprotected[4]
    assert len(P.kid_of(eokm)) == 8


def test_sign_raw_honours_odd_headers_and_untagged():
    key = P.HotlineKey.generate("nl.test")
    payload = P.encode_claims(P.build_ping("nl.test", "d"))
    cose = P.sign_raw(payload, key, protected={1: -7}, unprotected={4: b"k"}, tag=False)
    s1 = P.decode_sign1(cose)
    assert not s1.tagged and s1.protected == {1: -7} and s1.unprotected == {4: b"k"}
    key.private_key.public_key().verify(s1.signature, P.sig_structure(s1.protected_bytes, payload))


# --- verifying vector notices (the shared verify path of verify_receipt) -------------------------
SIGNATURE_CASES = [
    n
    for n in VECTORS["notices"]
    if (n["verdict"] == "accept" or n.get("code") == "4.01") and n["name"] not in ("unknown kid",)
]


@pytest.mark.parametrize("case", SIGNATURE_CASES, ids=[n["name"] for n in SIGNATURE_CASES])
def test_verify_sign1_agrees_with_vector_signature_verdicts(case):
    cose = bytes.fromhex(case["cose"])
    key = TRUST_BY_KID[P.sign1_kid(P.decode_sign1(cose))]
    if case["verdict"] == "accept":
        _, claims = P.verify_sign1(cose, key)
        assert claims["v"] == 1
    else:
        with pytest.raises((P.BadAlgorithm, P.BadSignature)):
            P.verify_sign1(cose, key)


# --- receipts ----------------------------------------------------------------------------------------  # noqa: E501
@pytest.mark.parametrize("index", range(len(RECEIPTS)))
def test_verify_receipt_accepts_each_vector(index):
    fields, cose = RECEIPTS[index]
    assert P.verify_receipt(cose, DEVICE_PUB) == fields
    assert P.verify_receipt(cose[1:], DEVICE_PUB) == fields  # untagged is accepted too


def _flip(data, index):
    out = bytearray(data)
    out[index] ^= 1
    return bytes(out)


def test_verify_receipt_refuses_forgeries():
    fields, cose = RECEIPTS[0]
    with pytest.raises(P.BadSignature):
        P.verify_receipt(_flip(cose, len(cose) - 5), DEVICE_PUB)  # signature
    with pytest.raises(P.BadSignature):
        P.verify_receipt(cose, bytes.fromhex(VECTORS["trust"][0]["key"]))  # another key
    other = P.HotlineKey.generate("x")
    with pytest.raises(P.BadSignature):
        P.verify_receipt(P.sign(fields, other), DEVICE_PUB)
    assert P.BadSignature.code == 0x81


def test_verify_receipt_refuses_bad_alg_and_structure():
    payload = P.encode_claims(RECEIPTS[0][0])
    with pytest.raises(P.BadAlgorithm):
        P.verify_receipt(P.sign_raw(payload, DEVICE_SEED, protected={1: -7}), DEVICE_PUB)
    with pytest.raises(P.BadAlgorithm):
        P.verify_receipt(
            P.sign_raw(
                payload, DEVICE_SEED, protected={}, unprotected={1: -8, 4: P.kid_of(DEVICE_PUB)}
            ),
            DEVICE_PUB,
        )
    for bad in (
        b"\xff\x00",
        cbor2.dumps([b"", {}, b""]),
        cbor2.dumps({1: 2}),
        cbor2.dumps(cbor2.CBORTag(17, [b"", {}, b"", b""])),
        RECEIPTS[0][1][:-3],
        RECEIPTS[0][1] + b"\x00",
        notice("trailing bytes"),
    ):
        with pytest.raises(P.MalformedCOSE):
            P.verify_receipt(bad, DEVICE_PUB)


def test_verify_receipt_refuses_bad_claims_even_when_signed():
    fields = RECEIPTS[1][0]
    for change in (
        {"kind": "lost"},
        {"seq": -1},
        {"prev": b"\x00" * 31},
        {"t": "notice"},
        {"clock": "sundial"},
        {"v": 2},
        {"seq": 0},
    ):
        with pytest.raises(P.BadClaims):
            P.verify_receipt(P.sign(dict(fields, **change), DEVICE_SEED), DEVICE_PUB)
    without_nh = {k: v for k, v in fields.items() if k != "nh"}
    with pytest.raises(P.BadClaims):
        P.verify_receipt(P.sign(without_nh, DEVICE_SEED), DEVICE_PUB)
    # A payload not in deterministic encoding (map keys out of order) is refused.
    entries = sorted(fields.items(), reverse=True)
    raw = bytes([0xA0 + len(entries)]) + b"".join(
        cbor2.dumps(k) + cbor2.dumps(v) for k, v in entries
    )
    assert cbor2.loads(raw) == fields
    with pytest.raises(P.BadClaims):
        P.verify_receipt(P.sign_raw(raw, DEVICE_SEED), DEVICE_PUB)


def test_receipt_answers_names_the_message():
    minimal = notice("minimal notice")
    receipt = P.verify_receipt(RECEIPTS[0][1], DEVICE_PUB)
    assert P.receipt_answers(receipt, minimal, cbor2.loads(P.decode_sign1(minimal).payload)["id"])
    assert not P.receipt_answers(receipt, notice("ping"))
    assert not P.receipt_answers(receipt, minimal, b"\x00" * 16)


# --- the chain --------------------------------------------------------------------------------------  # noqa: E501
def test_chain_accepts_vector_chain_and_acknowledges_repeats():
    chain = P.ReceiptChain()
    for fields, cose in RECEIPTS:
        assert chain.add(fields, cose).status == P.CHAIN_OK
    assert chain.add(*RECEIPTS[2]).status == P.CHAIN_REPEAT
    dev = RECEIPTS[0][0]["dev"]
    assert chain.head(dev) == len(RECEIPTS) and chain.gaps(dev) == [] and chain.forks(dev) == []


def test_chain_reports_a_gap_and_closes_it():
    chain = P.ReceiptChain()
    chain.add(*RECEIPTS[0])
    result = chain.add(*RECEIPTS[2])
    assert result.status == P.CHAIN_GAP and result.missing == [2]
    assert chain.gaps(RECEIPTS[0][0]["dev"]) == [2]
    assert chain.add(*RECEIPTS[3]).status == P.CHAIN_OK
    assert chain.add(*RECEIPTS[1]).status == P.CHAIN_OK  # links both ways
    assert chain.gaps(RECEIPTS[0][0]["dev"]) == []


def test_chain_gap_from_the_start():
    result = P.ReceiptChain().add(*RECEIPTS[3])
    assert result.status == P.CHAIN_GAP and result.missing == [1, 2, 3]


def test_chain_flags_forks():
    dev = RECEIPTS[0][0]["dev"]
    altered3 = dict(RECEIPTS[2][0], at=RECEIPTS[2][0]["at"] + 1)
    altered3_cose = P.sign(altered3, DEVICE_SEED)
    # The same seq with other bytes.
    chain = P.ReceiptChain()
    for r in RECEIPTS[:3]:
        chain.add(*r)
    assert chain.add(altered3, altered3_cose).status == P.CHAIN_FORK
    assert chain.forks(dev) == [(3, P.chain_hash(altered3_cose))]
    # seq 4 whose prev is not the hash of the seq 3 held.
    chain = P.ReceiptChain()
    for r in RECEIPTS[:2]:
        chain.add(*r)
    chain.add(altered3, altered3_cose)
    assert chain.add(*RECEIPTS[3]).status == P.CHAIN_FORK
    # Arriving out of order: seq 3 that seq 4 (already held) does not point at.
    chain = P.ReceiptChain()
    for r in (RECEIPTS[0], RECEIPTS[1], RECEIPTS[3]):
        chain.add(*r)
    result = chain.add(altered3, altered3_cose)
    assert result.status == P.CHAIN_FORK and "seq 4" in result.detail
    # seq 1 must start from zeros.
    odd1 = dict(RECEIPTS[0][0], prev=b"\x01" * 32)
    assert P.ReceiptChain().add(odd1, P.sign(odd1, DEVICE_SEED)).status == P.CHAIN_FORK


def test_chain_checks_status_receipt_against_head():
    chain = P.ReceiptChain()
    for r in RECEIPTS:
        chain.add(*r)
    head_hash = P.chain_hash(RECEIPTS[-1][1])
    status = {
        "v": 1,
        "t": "receipt",
        "dev": RECEIPTS[0][0]["dev"],
        "seq": 0,
        "prev": head_hash,
        "kind": "status",
        "at": 1800000300,
        "clock": "ntp",
        "state": {"active": 1},
    }
    cose = P.sign(status, DEVICE_SEED)
    assert P.verify_receipt(cose, DEVICE_PUB) == status
    assert chain.add(status, cose).status == P.CHAIN_STATUS
    stale = dict(status, prev=P.chain_hash(RECEIPTS[2][1]))
    assert chain.add(stale, P.sign(stale, DEVICE_SEED)).status == P.CHAIN_FORK


def test_chains_are_per_device():
    chain = P.ReceiptChain()
    chain.add(*RECEIPTS[0])
    other = dict(RECEIPTS[0][0], dev="nl.hoster-b.desk-9")
    assert chain.add(other, P.sign(other, DEVICE_SEED)).status == P.CHAIN_OK
    assert chain.devices() == ["nl.hoster-a.desk-1", "nl.hoster-b.desk-9"]


# --- building messages ------------------------------------------------------------------------------  # noqa: E501
def test_build_notice_defaults():
    before = int(time.time())
    a = P.build_notice("nl.eokm", "dev-1", ["https://x.example/1", "https://x.example/2"])
    b = P.build_notice("nl.eokm", "dev-1", ["https://x.example/1"])
    assert a["v"] == 1 and a["t"] == "notice" and a["iss"] == "nl.eokm" and a["aud"] == "dev-1"
    assert len(a["id"]) == 16 and a["id"] != b["id"]
    assert before <= a["iat"] <= int(time.time())
    assert a["due"] == a["iat"] + 24 * 3600 and "within" not in a
    assert a["items"] == [{"url": "https://x.example/1"}, {"url": "https://x.example/2"}]
    assert set(a) == {"v", "t", "id", "iss", "aud", "iat", "due", "cat", "basis", "ref", "items"}


def test_build_notice_options_and_deadline_rules():
    n = P.build_notice(
        "i",
        "a",
        items=[P.make_item("u", ip="192.0.2.1", sha256=bytes(32))],
        within=3600,
        cat="terror",
        basis="EU 2021/784 art. 3",
        ref="R1",
        id=b"\x01" * 8,
        iat=5,
        note="n",
        lang="nl",
        nodisclose=True,
        preserve=99,
        test=True,
        replaces=b"\x02" * 8,
        contact="c",
        redress="r",
    )
    assert n["within"] == 3600 and "due" not in n
    assert n["items"] == [{"url": "u", "ip": "192.0.2.1", "sha256": bytes(32)}]
    assert (n["id"], n["iat"], n["nodisclose"], n["test"], n["replaces"]) == (
        b"\x01" * 8,
        5,
        True,
        True,
        b"\x02" * 8,
    )
    with pytest.raises(ValueError):
        P.build_notice("i", "a", ["u"], due=10, within=60)
    with pytest.raises(ValueError):
        P.build_notice("i", "a", [])


def test_build_withdraw_and_ping():
    w = P.build_withdraw("i", "a", b"\x05" * 16, iat=7)
    assert w["t"] == "withdraw" and w["ref"] == b"\x05" * 16 and w["iat"] == 7
    p = P.build_ping("i", "a", id=b"\x09" * 8)
    assert (
        set(p) == {"v", "t", "id", "iss", "aud", "iat"}
        and p["t"] == "ping"
        and p["id"] == b"\x09" * 8
    )


# --- problem details ----------------------------------------------------------------------------------  # noqa: E501
def test_decode_problem():
    assert P.decode_problem(cbor2.dumps({-1: "Unauthorized", -2: "bad-signature"})) == {
        "title": "Unauthorized",
        "detail": "bad-signature",
    }
    assert P.decode_problem(cbor2.dumps({-1: "t", 7: "x", "reason": "r"})) == {
        "title": "t",
        "7": "x",
        "reason": "r",
    }
    assert P.decode_problem(P.encode_problem("T", "D")) == {"title": "T", "detail": "D"}
    for bad in (cbor2.dumps([1]), b"\xff", b""):
        with pytest.raises(P.ProblemDetailsError):
            P.decode_problem(bad)


# --- key files -------------------------------------------------------------------------------------------  # noqa: E501
def test_key_file_round_trip_and_mode(tmp_path):
    key = P.HotlineKey.generate("nl.eokm")
    path = tmp_path / "eokm.key"
    P.save_key(path, key)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    doc = json.loads(path.read_text())
    assert doc["format"] == "meldbox-hotline-key/1" and doc["iss"] == "nl.eokm"
    assert bytes.fromhex(doc["seed"]) == P.seed_of(key) and doc["kid"] == key.kid.hex()
    loaded = P.load_key(path)
    assert loaded.iss == "nl.eokm" and loaded.public == key.public
    with pytest.raises(FileExistsError):
        P.save_key(path, P.HotlineKey.generate("other"))
    assert P.load_key(path).public == key.public


def test_key_file_errors(tmp_path):
    path = tmp_path / "k"
    P.save_key(path, P.HotlineKey.generate("x"))
    doc = json.loads(path.read_text())
    doc["public"] = "00" * 32
    path.write_text(json.dumps(doc))
    with pytest.raises(P.KeyFileError):
        P.load_key(path)
    for text in (
        "not json",
        json.dumps({"format": "other"}),
        json.dumps({"format": "meldbox-hotline-key/1", "iss": "x", "seed": "abcd"}),
    ):
        path.write_text(text)
        with pytest.raises(P.KeyFileError):
            P.load_key(path)
    with pytest.raises(P.KeyFileError):
        P.load_key(tmp_path / "missing")
