"""The scapy layers (meldbox_host.wire.scapy_meldbox) dissect vector notices, receipts and
problem details carried in CoAP datagrams down to the claims, build the same bytes
back from their fields, and read pcap captures."""

import json
from pathlib import Path

import cbor2
import pytest
from scapy.layers.inet import IP, UDP
from scapy.packet import Raw
from scapy.utils import rdpcap, wrpcap

from meldbox_host import protocol as P
from meldbox_host.wire.scapy_meldbox import (
    Claim,
    CoAP,
    COSESign1,
    MeldboxClaims,
    ProblemDetails,
    bind_port,
    coap_datagram,
    dissect,
    summaries,
    summary,
)

VECTORS = json.loads((Path(__file__).resolve().parents[1] / "data" / "notices.json").read_text())
# Every vector notice that is a definite-length COSE_Sign1 whose payload is a CBOR map.
WELL_FORMED = [
    n
    for n in VECTORS["notices"]
    if isinstance(P.peek_claims(bytes.fromhex(n["cose"])), dict)
    and n.get("code") != "4.13"
    and len(bytes.fromhex(n["cose"])) < 1024
    and n["name"] != "indefinite-length COSE array"
]


def _post(cose, **kw):
    return coap_datagram(2, cose, 18, path=("notices",), msg_id=0x1234, token=b"\x0a\x0b", **kw)


@pytest.mark.parametrize("case", WELL_FORMED, ids=[n["name"] for n in WELL_FORMED])
def test_vector_notice_dissects_to_its_claims(case):
    cose = bytes.fromhex(case["cose"])
    pkt = dissect(_post(cose))
    assert pkt[CoAP].code == 2 and pkt[CoAP].msg_id == 0x1234
    s1 = P.decode_sign1(cose)
    layer = pkt[COSESign1]
    assert layer.tag == (18 if s1.tagged else None)
    assert layer.protected == s1.protected_bytes and layer.unprotected == s1.unprotected
    assert layer.signature == s1.signature
    claims = pkt[MeldboxClaims]
    assert claims.count == len(claims.entries)
    if case["name"] != "duplicate map key in payload (signed)":
        assert claims.as_dict() == cbor2.loads(s1.payload)
    assert bytes(pkt) == _post(cose)  # fields rebuild the exact datagram


def test_duplicate_keys_stay_visible():
    cose = bytes.fromhex(
        next(
            n["cose"]
            for n in VECTORS["notices"]
            if n["name"] == "duplicate map key in payload (signed)"
        )
    )
    keys = [e.key for e in dissect(_post(cose))[MeldboxClaims].entries]
    assert len(keys) > len(set(keys))


@pytest.mark.parametrize("index", range(len(VECTORS["receipts"])))
def test_vector_receipt_in_ack_dissects_to_claims(index):
    vector = VECTORS["receipts"][index]
    cose = bytes.fromhex(vector["cose"])
    pkt = dissect(coap_datagram(65, cose, 18, mtype=2, msg_id=0x1234, token=b"\x0a\x0b"))
    claims = pkt[MeldboxClaims]
    assert P.jsonable(claims.as_dict()) == vector["fields"]
    assert claims.get("seq") == vector["fields"]["seq"]
    line = summary(pkt)
    assert line.startswith("ACK 2.01 Created mid=0x1234 tok=0a0b")
    f = vector["fields"]
    assert "receipt %s seq=%d kind=%s" % (f["dev"], f["seq"], f["kind"]) in line
    shown = pkt.show(dump=True)
    for key in vector["fields"]:
        assert "key       = '%s'" % key in shown
    if index == 0:
        assert "1800000060 (2027-01-15 08:01:00Z)" in shown  # times also shown in UTC


def test_layers_build_the_vector_receipt_from_fields():
    vector = VECTORS["receipts"][0]
    dissected = dissect(coap_datagram(65, bytes.fromhex(vector["cose"]), 18, mtype=2))[
        MeldboxClaims
    ]
    claims = MeldboxClaims(entries=[Claim(key=e.key, value=e.value) for e in dissected.entries])
    s1 = P.decode_sign1(bytes.fromhex(vector["cose"]))
    built = COSESign1(unprotected=s1.unprotected, claims=claims, signature=s1.signature)
    assert bytes(built) == bytes.fromhex(vector["cose"])
    assert P.verify_receipt(bytes(built), bytes.fromhex(VECTORS["device_public_key"]))["seq"] == 1


def test_problem_details_response():
    pkt = dissect(
        coap_datagram(129, P.encode_problem("Unauthorized", "bad-signature: no"), 257, mtype=2)
    )
    pd = pkt[ProblemDetails]
    assert (pd.title, pd.detail) == ("Unauthorized", "bad-signature: no")
    assert summary(pkt).endswith("| problem 'Unauthorized': 'bad-signature: no'")
    assert COSESign1 not in pkt


def test_other_content_formats_are_not_cose():
    cose = bytes.fromhex(VECTORS["notices"][0]["cose"])
    pkt = dissect(coap_datagram(2, cose, 60, path=("notices",)))
    assert COSESign1 not in pkt and Raw in pkt


def test_undecodable_payload_stays_raw_inside_cose():
    cose = P.sign_raw(b"\x7f\xff", P.HotlineKey.generate("x"))  # break where a map should start
    pkt = dissect(_post(cose))
    assert COSESign1 in pkt and MeldboxClaims not in pkt
    assert pkt[COSESign1].signature == P.decode_sign1(cose).signature


def test_indefinite_length_cose_array_is_not_dissected_as_cose():
    cose = bytes.fromhex(
        next(n["cose"] for n in VECTORS["notices"] if n["name"] == "indefinite-length COSE array")
    )
    pkt = dissect(_post(cose))
    assert COSESign1 not in pkt and pkt[Raw].load == cose


def test_malformed_datagrams_never_raise():
    for datagram in (b"", b"\x40", b"\x40\x02\x00\x01\xd1", b"\x48\x02\x00\x01", b"\xff" * 9):
        assert summary(dissect(datagram))
    # A truncated extended option header: scapy.contrib.coap raises, dissect falls back to Raw.
    assert summary(dissect(b"\x40\x02\x00\x01\xd1")).startswith("not CoAP")


def test_pcap_round_trip(tmp_path):
    notice = bytes.fromhex(VECTORS["notices"][0]["cose"])
    receipt = bytes.fromhex(VECTORS["receipts"][0]["cose"])
    packets = [
        IP(src="127.0.0.1", dst="127.0.0.1") / UDP(sport=40001, dport=5683) / Raw(_post(notice)),
        IP(src="127.0.0.1", dst="127.0.0.1")
        / UDP(sport=5683, dport=40001)
        / Raw(coap_datagram(65, receipt, 18, mtype=2, msg_id=0x1234, token=b"\x0a\x0b")),
        IP(src="127.0.0.1", dst="127.0.0.1") / UDP(sport=40001, dport=47000) / Raw(_post(notice)),
    ]
    path = tmp_path / "meldbox.pcap"
    wrpcap(str(path), packets)
    read = rdpcap(str(path))
    lines = summaries(read)
    assert "| notice nl.eokm -> nl.hoster-a.desk-1" in lines[0]
    assert "| receipt nl.hoster-a.desk-1 seq=1 kind=delivered" in lines[1]
    assert lines[2].startswith("not CoAP")  # a port nobody said was CoAP
    bind_port(47000)
    assert "| notice" in summaries(rdpcap(str(path)))[2]
