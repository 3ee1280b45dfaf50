# heapsize: 1M
# (not the device's 256K: the first Ed25519 use currently fragments a 256K heap so that
# 8 KB buffers no longer fit; these tests check logic, bench/mp_verify_notice.py the heap)
"""COSE_Sign1 on MicroPython (PROTOCOL.md section 2): decoding tagged and untagged objects,
every structural refusal, the alg rules, the Sig_structure encoding, signing and kid_of."""
import hashlib  # noqa: I001
from binascii import unhexlify

from mptest import eq, raises, refused
from meldbox.core import cbor, cose, ed25519, errors

KEY = ed25519.SigningKey(bytes(range(100, 132)))
KID = cose.kid_of(KEY.public)
OTHER = ed25519.SigningKey(bytes(range(200, 232)))
PAYLOAD = cbor.dumps({"v": 1, "t": "ping"})
SIG = bytes(64)   # structure tests do not need a real signature


def encode(protected=cose.PROTECTED_EDDSA, unprotected=None, payload=PAYLOAD, signature=SIG,
           tag=18):
    """A COSE_Sign1 from its four parts, any of them wrong on purpose."""
    body = [protected, {4: KID} if unprotected is None else unprotected, payload, signature]
    return cbor.dumps(body if tag is None else cbor.Tag(tag, body))


def signed(protected=cose.PROTECTED_EDDSA, unprotected=None, payload=PAYLOAD, key=KEY):
    """Correctly signed over any protected header (for the alg tests)."""
    sig = key.sign(cose.sig_structure(protected, payload))
    return encode(protected, unprotected, payload, sig)


def structure_error(buf):
    e = refused("cose-structure", cose.decode_sign1, buf)
    eq(e.code, errors.BAD_REQUEST, "code")
    return e


# --- signing ----------------------------------------------------------------------

def test_sign1_layout_is_the_protocols():
    out = cose.sign1(PAYLOAD, KEY, KID)
    # tag 18, array(4), bstr(3) {1: -8}, map(1) {4: bstr(8) kid}, bstr payload, bstr(64) sig
    head = b"\xd2\x84\x43\xa1\x01\x27\xa1\x04\x48" + KID + bytes((0x40 | len(PAYLOAD),)) + PAYLOAD
    eq(out[:len(head)], head, "head")
    eq(out[len(head):len(head) + 2], b"\x58\x40", "signature head")
    eq(len(out), len(head) + 2 + 64, "length")


def test_sign1_round_trip_verifies():
    s = cose.decode_sign1(cose.sign1(PAYLOAD, KEY, KID))
    eq(s.protected_bytes, b"\xa1\x01\x27")
    eq(s.protected, {1: -8})
    eq(s.unprotected, {4: KID})
    eq(s.payload, PAYLOAD)
    eq(s.kid, KID)
    eq(len(s.signature), 64)
    cose.check_alg(s)
    assert cose.verify(s, KEY.public)


def test_verify_fails_with_other_key_or_changed_parts():
    s = cose.decode_sign1(cose.sign1(PAYLOAD, KEY, KID))
    assert not cose.verify(s, OTHER.public)
    good = s.signature
    s.signature = bytes([good[0] ^ 1]) + good[1:]
    assert not cose.verify(s, KEY.public)
    s.signature = good[:63]           # wrong length: False, not an exception
    assert not cose.verify(s, KEY.public)
    s.signature = good
    s.payload = PAYLOAD + b"\x00"
    assert not cose.verify(s, KEY.public)
    s.payload = PAYLOAD
    s.protected_bytes = b"\xa1\x01\x26"   # the signature covers the protected bytes
    assert not cose.verify(s, KEY.public)


def test_kid_of_is_sha256_prefix_and_matches_vectors():
    eq(cose.kid_of(KEY.public), hashlib.sha256(KEY.public).digest()[:8])
    # nl.eokm's key and the kid its notices carry in tests/data/notices.json.
    pub = unhexlify("dd6b6cd32cee716650d499e7484c1dafcfbcb9d5c8ce80595151652eb1e16426")
    eq(cose.kid_of(pub), unhexlify("98a1cc790db058e5"))


def test_sig_structure_encoding_for_every_length_class():
    for n in (0, 1, 23, 24, 255, 256, 8192):
        payload = b"p" * n
        for protected in (b"", cose.PROTECTED_EDDSA, b"\xa2\x01\x27\x04\x58\x18" + bytes(24)):
            want = cbor.dumps(["Signature1", protected, b"", payload])
            eq(cose.sig_structure(protected, payload), want, "payload %d bytes" % n)
    # Messages are at most 8192 bytes; 64 KiB and more is our own misuse (refused on the
    # length alone, so a stand-in with that length will do).
    raises(ValueError, cose.sig_structure, b"", _Sized(65536))


class _Sized:
    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n


# --- decoding ---------------------------------------------------------------------

def test_untagged_accepted():
    tagged = signed()
    s = cose.decode_sign1(tagged[1:])          # drop the 0xd2 tag byte
    eq(s.kid, KID)
    assert cose.verify(s, KEY.public)


def test_other_tags_rejected():
    for tag in (0, 16, 17, 19, 61, 96, 98, 55799):
        e = structure_error(encode(tag=tag))
        assert str(tag) in e.detail, e.detail


def test_tag_18_twice_rejected():
    body = [cose.PROTECTED_EDDSA, {4: KID}, PAYLOAD, SIG]
    structure_error(cbor.dumps(cbor.Tag(18, cbor.Tag(18, body))))


def test_not_an_array_rejected():
    for obj in ({1: 2}, 7, b"abc", "text", None, cbor.Tag(18, {1: 2})):
        structure_error(cbor.dumps(obj))


def test_array_of_wrong_length_rejected():
    body = [cose.PROTECTED_EDDSA, {4: KID}, PAYLOAD, SIG]
    for n in (0, 3):
        e = structure_error(cbor.dumps(cbor.Tag(18, body[:n])))
        assert "4" in e.detail, e.detail
    structure_error(cbor.dumps(cbor.Tag(18, body + [SIG])))


def test_bad_cbor_is_a_cbor_error():
    good = encode()
    for buf in (b"", b"\xff", good[:-1], good + b"\x00", b"\xd2\x9f" + good[2:]):
        e = refused("cbor", cose.decode_sign1, buf)
        eq(e.code, errors.BAD_REQUEST)


def test_protected_must_be_bstr_of_a_map():
    structure_error(encode(protected={1: -8}))
    structure_error(encode(protected=cbor.dumps([1, -8])))
    structure_error(encode(protected=cbor.dumps(-8)))
    refused("cbor", cose.decode_sign1, encode(protected=b"\xa1\x01"))     # truncated
    refused("cbor", cose.decode_sign1, encode(protected=b"\xa1\x01\x27\x00"))


def test_empty_protected_is_an_empty_map():
    s = cose.decode_sign1(encode(protected=b""))
    eq(s.protected, {})
    eq(s.protected_bytes, b"")
    refused("bad-alg", cose.check_alg, s)


def test_unprotected_must_be_a_map():
    for bad in ([4, KID], None, b"", 0):
        body = [cose.PROTECTED_EDDSA, bad, PAYLOAD, SIG]
        structure_error(cbor.dumps(cbor.Tag(18, body)))


def test_detached_or_mistyped_payload_rejected():
    e = structure_error(encode(payload=None))
    assert "detached" in e.detail, e.detail
    structure_error(encode(payload="text"))
    structure_error(encode(payload={"v": 1}))


def test_signature_must_be_bstr():
    for bad in (None, "sig", [SIG], 0):
        structure_error(encode(signature=bad))


def test_kid_missing_or_mistyped_rejected():
    e = structure_error(encode(unprotected={}))
    assert "kid" in e.detail, e.detail
    for bad in ("kid", 4, [KID], None):
        structure_error(encode(unprotected={4: bad}))


def test_kid_in_protected_header_accepted():
    protected = cbor.dumps({1: -8, 4: KID})
    s = cose.decode_sign1(signed(protected=protected, unprotected={}))
    eq(s.kid, KID)
    cose.check_alg(s)
    assert cose.verify(s, KEY.public)


def test_kid_in_both_headers_rejected():
    structure_error(encode(protected=cbor.dumps({1: -8, 4: KID}), unprotected={4: KID}))


def test_other_unprotected_labels_refused():
    # Unsigned labels would let anyone on the path change or pad a message (PROTOCOL.md 2).
    for unprotected in ({4: KID, 3: 60}, {4: KID, "x": b"y"}, {4: KID + b"\0" * 9}, {4: b""}):
        structure_error(signed(unprotected=unprotected))
    eq(cose.decode_sign1(signed(unprotected={4: b"k" * 16})).kid, b"k" * 16)


def test_crit_header_rejected():
    structure_error(encode(protected=cbor.dumps({1: -8, 2: [99], 99: 1})))


def test_decoded_fields_are_bytes_and_the_payload_a_view():
    raw = bytearray(signed())
    s = cose.decode_sign1(raw)
    for value in (s.protected_bytes, s.signature, s.kid):
        eq(type(value), bytes)
    # the payload is not copied (an 8 KiB notice must not need another 8 KiB block):
    # it is a view of the received buffer, with the payload's bytes
    eq(type(s.payload), memoryview)
    start = bytes(raw).find(bytes(s.payload))
    assert start > 0 and len(s.payload) > 0
    raw[start] ^= 0xFF
    eq(s.payload[0], raw[start], "view follows the buffer")


# --- alg ----------------------------------------------------------------------------

def alg_error(buf):
    s = cose.decode_sign1(buf)
    e = refused("bad-alg", cose.check_alg, s)
    eq(e.code, errors.UNAUTHORIZED, "code")
    return e


def test_other_alg_values_rejected_even_when_signed():
    for alg in (-7, -35, -36, -37, 0, 1, -9, "EdDSA", b"\xf8", None, True):
        alg_error(signed(protected=cbor.dumps({1: alg})))


def test_alg_detail_stays_short():
    e = alg_error(signed(protected=cbor.dumps({1: "A" * 3000})))
    assert len(e.detail) < 90, e.detail


def test_alg_missing_rejected():
    e = alg_error(signed(protected=cbor.dumps({3: 60})))
    assert "missing" in e.detail, e.detail


def test_alg_in_unprotected_header_rejected():
    alg_error(signed(protected=b"", unprotected={1: -8, 4: KID}))
    # Also when the protected header has the right alg: no second opinion allowed.
    e = alg_error(signed(unprotected={1: -8, 4: KID}))
    assert "unprotected" in e.detail, e.detail
