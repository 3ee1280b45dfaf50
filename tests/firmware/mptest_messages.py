# heapsize: 1M
# (not the device's 256K: the first Ed25519 use currently fragments a 256K heap so that
# 8 KB buffers no longer fit; these tests check logic, bench/mp_verify_notice.py the heap)
"""verify_message on MicroPython beyond the shared vectors: the check ORDER of PROTOCOL.md
section 2, every refusal of section 3, withdraw and ping, the returned fields; then the
trust store and receipt building (misuse raises ValueError)."""
import hashlib  # noqa: I001
import struct

from mptest import eq, raises, refused
from meldbox.core import cbor, cose, ed25519, errors, receipts
from meldbox.core.messages import Item, Notice, Ping, Withdraw, verify_message
from meldbox.core.trust import TrustedKey, TrustStore

NOW = 1800000000
DEV = "nl.hoster-a.desk-1"
ISS = "nl.test"
KEY = ed25519.SigningKey(bytes(range(1, 33)))          # ISS, current
OLD = ed25519.SigningKey(bytes(range(2, 34)))          # ISS, rotated out but still trusted
REVOKED = ed25519.SigningKey(bytes(range(3, 35)))      # ISS, revoked
EXPIRED = ed25519.SigningKey(bytes(range(4, 36)))      # ISS, past not-after
OTHER = ed25519.SigningKey(bytes(range(5, 37)))        # "eu.other", its own key
STRANGER = ed25519.SigningKey(bytes(range(6, 38)))     # trusted by nobody
TRUST = TrustStore([
    TrustedKey(ISS, KEY.public),
    TrustedKey(ISS, OLD.public, not_after=NOW + 86400),
    TrustedKey(ISS, REVOKED.public, revoked=True),
    TrustedKey(ISS, EXPIRED.public, not_after=NOW - 1),
    TrustedKey("eu.other", OTHER.public),
])
ID = b"\x11" * 16
SHA = bytes(range(32))


def notice(**changes):
    """A valid notice's claims; keyword None removes that key."""
    claims = {"v": 1, "t": "notice", "id": ID, "iss": ISS, "aud": DEV, "iat": NOW - 600,
              "due": NOW + 86400, "cat": "csam", "basis": "NL NTD code", "ref": "T-1",
              "items": [{"url": "https://a.example/x", "ip": "192.0.2.1", "sha256": SHA}]}
    return _apply(claims, changes)


def withdraw(**changes):
    claims = {"v": 1, "t": "withdraw", "id": b"\x22" * 8, "iss": ISS, "aud": DEV,
              "iat": NOW - 60, "ref": ID}
    return _apply(claims, changes)


def ping(**changes):
    claims = {"v": 1, "t": "ping", "id": b"\x33" * 12, "iss": ISS, "aud": DEV, "iat": NOW}
    return _apply(claims, changes)


NIL = object()   # stands for an explicit CBOR nil (None removes the key)


def _apply(claims, changes):
    for k, v in changes.items():
        if v is None:
            claims.pop(k, None)
        else:
            claims[k] = None if v is NIL else v
    return claims


def sign(claims, key=KEY, protected=cose.PROTECTED_EDDSA, unprotected=None, payload=None,
         bad_sig=False):
    """COSE_Sign1 bytes of claims (or of raw payload bytes), optionally with a bad signature."""
    if payload is None:
        payload = cbor.dumps(claims)
    sig = key.sign(cose.sig_structure(protected, payload))
    if bad_sig:
        sig = bytes([sig[0] ^ 0x80]) + sig[1:]
    if unprotected is None:
        unprotected = {4: cose.kid_of(key.public)}
    return cbor.dumps(cbor.Tag(18, [protected, unprotected, payload, sig]))


def check(raw, trust=TRUST, now=NOW, clock_trusted=True):
    return verify_message(raw, trust, DEV, now, clock_trusted)


def reject(reason, raw, **kw):
    return refused(reason, check, raw, **kw)


def padded(size, **kw):
    """A notice whose COSE object is exactly `size` bytes (x_pad is an unknown key)."""
    pad = 7000
    raw = sign(notice(x_pad="z" * pad), **kw)
    return sign(notice(x_pad="z" * (pad + size - len(raw))), **kw)


# --- the order of the checks (PROTOCOL.md section 2) ---------------------------------

def test_size_boundary():
    raw = padded(8192)
    eq(len(raw), 8192)
    eq(check(raw).t, "notice")
    raw = padded(8193)
    eq(len(raw), 8193)
    e = reject("too-large", raw)
    eq(e.code, errors.REQUEST_ENTITY_TOO_LARGE)
    assert "8193" in e.detail and "8192" in e.detail, e.detail


def test_too_large_beats_everything():
    eq(len(padded(8193, bad_sig=True)), 8193)
    reject("too-large", padded(8193, bad_sig=True))
    reject("too-large", padded(8193, key=STRANGER))
    reject("too-large", b"\xff" * 8193)       # not even CBOR


def test_structure_beats_alg():
    # Three-element array with a bad alg: the structure is judged first.
    raw = cbor.dumps(cbor.Tag(18, [b"\xa1\x01\x26", {4: cose.kid_of(KEY.public)}, b"\xa0"]))
    reject("cose-structure", raw)


def test_alg_beats_kid():
    es256 = b"\xa1\x01\x26"
    reject("bad-alg", sign(notice(), key=STRANGER, protected=es256))
    # A revoked key would be 4.03, but the alg is checked first: 4.01.
    e = reject("bad-alg", sign(notice(), key=REVOKED, protected=es256))
    eq(e.code, errors.UNAUTHORIZED)


def test_unknown_kid_beats_malformed_payload():
    e = reject("unknown-key", sign(None, key=STRANGER, payload=b"\xff\xff"))
    eq(e.code, errors.UNAUTHORIZED)


def test_revoked_key_beats_bad_signature():
    e = reject("revoked-key", sign(notice(), key=REVOKED, bad_sig=True))
    eq(e.code, errors.FORBIDDEN)


def test_expired_key_beats_bad_signature():
    e = reject("expired-key", sign(notice(), key=EXPIRED, bad_sig=True))
    eq(e.code, errors.FORBIDDEN)


def test_not_after_is_the_last_good_second():
    trust = TrustStore([TrustedKey(ISS, KEY.public, not_after=NOW)])
    raw = sign(notice())
    eq(check(raw, trust=trust).t, "notice")
    reject("expired-key", raw, trust=trust, now=NOW + 1)


def test_bad_signature_beats_payload_and_claims():
    reject("bad-signature", sign(None, payload=b"\xff", bad_sig=True))
    reject("bad-signature", sign(notice(items=[]), bad_sig=True))
    reject("bad-signature", sign(notice(aud="someone.else"), bad_sig=True))
    reject("bad-signature", sign(notice(iss="eu.other"), bad_sig=True))


def test_signature_of_another_key_under_a_trusted_kid():
    raw = sign(notice(), key=OLD, unprotected={4: cose.kid_of(KEY.public)})
    reject("bad-signature", raw)


def test_claims_beat_issuer_and_audience():
    reject("claims", sign(notice(iss="eu.other", items=[])))
    reject("claims", sign(notice(aud="someone.else", due=NOW - 3600)))


def test_issuer_beats_audience():
    e = reject("wrong-issuer", sign(notice(iss="eu.other", aud="someone.else")))
    eq(e.code, errors.FORBIDDEN)


def test_issuer_must_be_the_keys():
    reject("wrong-issuer", sign(notice(iss="eu.other"), key=KEY))
    reject("wrong-issuer", sign(notice(), key=OTHER))
    eq(check(sign(notice(iss="eu.other"), key=OTHER)).iss, "eu.other")


def test_audience_must_be_this_device():
    e = reject("wrong-device", sign(notice(aud="nl.hoster-a.desk-2")))
    assert "nl.hoster-a.desk-2" in e.detail, e.detail
    reject("wrong-device", sign(ping(aud="")))


def test_rotated_key_still_accepted():
    eq(check(sign(notice(), key=OLD)).kid, cose.kid_of(OLD.public))


def test_one_key_two_issuers_revoked_for_one():
    # The same key trusted for two issuers, revoked for one: lookup yields both entries.
    trust = TrustStore([TrustedKey("a.old", KEY.public, revoked=True),
                        TrustedKey(ISS, KEY.public)])
    eq(len(trust.lookup(cose.kid_of(KEY.public))), 2)
    eq(check(sign(notice()), trust=trust).iss, ISS)
    reject("wrong-issuer", sign(notice(iss="a.old")), trust=trust)


def test_revoked_and_expired_entries_of_one_kid():
    trust = TrustStore([TrustedKey("a", KEY.public, revoked=True),
                        TrustedKey(ISS, KEY.public, not_after=NOW - 10)])
    reject("expired-key", sign(notice()), trust=trust)
    trust = TrustStore([TrustedKey("a", KEY.public, revoked=True),
                        TrustedKey(ISS, KEY.public, revoked=True)])
    reject("revoked-key", sign(notice()), trust=trust)


def test_payload_cbor_errors_after_signature():
    reject("cbor-truncated", sign(None, payload=b""))
    reject("cbor-trailing-bytes", sign(None, payload=cbor.dumps(notice()) + b"\x00"))
    reject("cbor-not-well-formed", sign(None, payload=b"\xff"))
    # A map claiming 2**64-1 pairs: refused without allocating for them.
    reject("cbor", sign(None, payload=b"\xbb" + b"\xff" * 8))


def test_float_iat_refused():
    # cbor.dumps writes no floats, so patch the iat head into a double by hand.
    payload = cbor.dumps(notice(iat=NOW - 600))
    at = payload.find(b"ciat\x1a") + 4
    assert at > 4
    payload = payload[:at] + b"\xfb" + struct.pack(">d", NOW - 600.0) + payload[at + 5:]
    eq(cbor.loads(payload)["iat"], NOW - 600.0)
    e = reject("claims", sign(None, payload=payload))
    assert "iat" in e.detail, e.detail


def test_kid_in_protected_header_and_untagged():
    kid = cose.kid_of(KEY.public)
    raw = sign(notice(), protected=cbor.dumps({1: -8, 4: kid}), unprotected={})
    eq(check(raw).kid, kid)
    untagged = sign(ping())[1:]
    eq(check(untagged).t, "ping")


def test_other_tag_rejected():
    raw = bytearray(sign(ping()))
    raw[0] = 0xd1   # tag 17, COSE_Mac0
    reject("cose-structure", bytes(raw))


def test_bytearray_and_memoryview_input():
    raw = sign(notice())
    for buf in (bytearray(raw), memoryview(raw)):
        msg = check(buf)
        eq(bytes(msg.raw), raw)
        assert msg.raw is buf, "the received buffer is kept, not copied"


# --- time -----------------------------------------------------------------------------

def test_iat_ahead_limit_and_untrusted_clock():
    eq(check(sign(notice(iat=NOW + 300, due=NOW + 3600))).iat, NOW + 300)
    raw = sign(notice(iat=NOW + 301, due=NOW + 3600))
    e = reject("claims", raw)
    assert "iat" in e.detail, e.detail
    eq(check(raw, clock_trusted=False).iat, NOW + 301)
    far = sign(notice(iat=NOW + 10 * 86400, due=NOW + 11 * 86400))
    eq(check(far, clock_trusted=False).iat, NOW + 10 * 86400)
    reject("claims", far)


def test_overdue_notice_accepted():
    msg = check(sign(notice(iat=NOW - 7200, due=NOW - 3600)))
    eq(msg.due, NOW - 3600)


# --- returned objects ----------------------------------------------------------------

def test_full_notice_fields():
    claims = notice(due=None, within=3600, cat="terror", basis="EU 2021/784 art. 3",
                    items=[{"url": "https://b.example/1"},
                           {"url": "https://b.example/2", "ip": "2001:db8::1"},
                           {"url": "https://b.example/3", "sha256": SHA}],
                    lang="nl", note="Verwijderen aub", contact="ntd@h.example",
                    redress="https://h.example/appeal", replaces=b"\x44" * 8,
                    nodisclose=True, preserve=NOW + 180 * 86400, test=True,
                    x_unknown={"nested": [1, 2]})
    raw = sign(claims)
    msg = check(raw)
    assert isinstance(msg, Notice)
    for name in ("t", "id", "iss", "aud", "iat", "within", "cat", "basis", "ref", "lang",
                 "note", "contact", "redress", "replaces", "nodisclose", "preserve", "test"):
        eq(getattr(msg, name), claims[name], name)
    eq(msg.due, None, "due")
    eq(msg.kid, cose.kid_of(KEY.public), "kid")
    eq(msg.raw, raw, "raw")
    eq(msg.nh, _nh(raw), "nh")
    eq(len(msg.items), 3)
    assert isinstance(msg.items[0], Item)
    eq([(i.url, i.ip, i.sha256) for i in msg.items],
       [("https://b.example/1", None, None), ("https://b.example/2", "2001:db8::1", None),
        ("https://b.example/3", None, SHA)])


def test_minimal_notice_defaults():
    msg = check(sign(notice(items=[{"url": "u"}])))
    eq((msg.due, msg.within), (NOW + 86400, None))
    for name in ("lang", "note", "contact", "redress", "replaces", "preserve"):
        eq(getattr(msg, name), None, name)
    eq(msg.nodisclose, False)
    eq(msg.test, False)
    eq(msg.items[0].url, "u")


def test_withdraw_accepted():
    msg = check(sign(withdraw()))
    assert isinstance(msg, Withdraw)
    eq((msg.t, msg.id, msg.iss, msg.aud, msg.iat, msg.ref),
       ("withdraw", b"\x22" * 8, ISS, DEV, NOW - 60, ID))


def _nh(raw):
    """nh as PROTOCOL.md 2 defines it: SHA-256 of [protected, payload, signature]."""
    s = cose.decode_sign1(raw)
    return hashlib.sha256(cbor.dumps([s.protected_bytes, bytes(s.payload), s.signature])).digest()


def test_ping_accepted():
    raw = sign(ping())
    msg = check(raw)
    assert isinstance(msg, Ping)
    eq((msg.t, msg.id, msg.iss, msg.aud, msg.iat), ("ping", b"\x33" * 12, ISS, DEV, NOW))
    eq(msg.nh, _nh(raw))


# --- section 3 refusals and limits, one case each ------------------------------------

def _bad(make, needle, **changes):
    def run():
        e = reject("claims", sign(make(**changes)))
        eq(e.code, errors.BAD_REQUEST)
        assert needle in e.detail, "%r not in %r" % (needle, e.detail)
    return run


def _good(make, check_fn, **changes):
    def run():
        msg = check(sign(make(**changes)))
        check_fn(msg)
    return run


def _url(n_bytes):
    # Two-byte characters: the limit counts encoded bytes, not characters.
    s = "https://x/" + "é" * ((n_bytes - 10) // 2)
    return s + "a" * (n_bytes - len(s.encode()))


BAD_NOTICES = [
    ("missing v", "v", {"v": None}), ("missing t", "t", {"t": None}),
    ("missing id", "id", {"id": None}), ("missing iss", "iss", {"iss": None}),
    ("missing aud", "aud", {"aud": None}), ("missing iat", "iat", {"iat": None}),
    ("missing cat", "cat", {"cat": None}), ("missing basis", "basis", {"basis": None}),
    ("missing ref", "ref", {"ref": None}), ("missing items", "items", {"items": None}),
    ("neither due nor within", "neither", {"due": None}),
    ("v as text", "v", {"v": "1"}), ("v true", "v", {"v": True}), ("v 0", "v", {"v": 0}),
    ("t as int", "t", {"t": 1}), ("t receipt", "receipt", {"t": "receipt"}),
    ("id as text", "id", {"id": "0123456789"}), ("id 7 bytes", "id", {"id": b"1234567"}),
    ("id 33 bytes", "id", {"id": b"x" * 33}), ("iss as bytes", "iss", {"iss": b"nl.test"}),
    ("aud as int", "aud", {"aud": 5}), ("iat true", "iat", {"iat": True}),
    ("iat -1", "iat", {"iat": -1}), ("iat nil", "iat", {"iat": NIL}),
    ("iat tagged", "iat", {"iat": cbor.Tag(1, NOW)}),
    ("due as text", "due", {"due": "1800086400"}), ("due negative", "due", {"due": -1}),
    ("due before iat", "due", {"due": NOW - 601}),
    ("within 59", "within", {"due": None, "within": 59}),
    ("within 2592001", "within", {"due": None, "within": 2592001}),
    ("within negative", "within", {"due": None, "within": -60}),
    ("within as text", "within", {"due": None, "within": "3600"}),
    ("within 0 and due", "both", {"within": 0}),
    ("cat uppercase", "cat", {"cat": "CSAM"}), ("cat as int", "cat", {"cat": 1}),
    ("basis as bytes", "basis", {"basis": b"x"}), ("ref as bytes", "ref", {"ref": b"T-1"}),
    ("items a map", "items", {"items": {"url": "u"}}),
    ("items text", "items", {"items": "https://a.example/"}),
    ("item not a map", "items[1]", {"items": [{"url": "u"}, "u"]}),
    ("item without url", "url", {"items": [{"ip": "192.0.2.1"}]}),
    ("item url bytes", "url", {"items": [{"url": b"https://a.example/"}]}),
    ("item url of 2049 bytes in fewer characters", "2049", {"items": [{"url": _url(2049)}]}),
    ("item ip bytes", "ip", {"items": [{"url": "u", "ip": b"\xc0\x00\x02\x01"}]}),
    ("item sha256 33 bytes", "sha256", {"items": [{"url": "u", "sha256": bytes(33)}]}),
    ("item sha256 hex text", "sha256", {"items": [{"url": "u", "sha256": "00" * 32}]}),
    ("item unknown key", "x", {"items": [{"url": "u", "x": 1}]}),
    ("lang as int", "lang", {"lang": 1}), ("note as bytes", "note", {"note": b"n"}),
    ("note 281 two-byte characters", "281", {"note": "é" * 281}),
    ("contact as bytes", "contact", {"contact": b"c"}),
    ("redress as int", "redress", {"redress": 3}),
    ("replaces as text", "replaces", {"replaces": "11111111"}),
    ("nodisclose 1", "nodisclose", {"nodisclose": 1}),
    ("nodisclose text", "nodisclose", {"nodisclose": "true"}),
    ("nodisclose nil", "nodisclose", {"nodisclose": NIL}),
    ("preserve negative", "preserve", {"preserve": -1}),
    ("preserve text", "preserve", {"preserve": "later"}),
    ("test 0", "test", {"test": 0}),
]

GOOD_NOTICES = [
    ("within 60", lambda m: eq(m.within, 60), {"due": None, "within": 60}),
    ("within 2592000", lambda m: eq(m.within, 2592000), {"due": None, "within": 2592000}),
    ("due one second after iat", lambda m: eq(m.due, NOW - 599), {"due": NOW - 599}),
    ("id 8 bytes", lambda m: eq(m.id, b"12345678"), {"id": b"12345678"}),
    ("id 32 bytes", lambda m: eq(len(m.id), 32), {"id": b"y" * 32}),
    ("iat 2020-01-01", lambda m: eq(m.iat, 1577836800), {"iat": 1577836800, "due": 1577836801}),
    ("url of 2048 bytes, mostly two-byte characters", lambda m: eq(str(m.items[0].url), _url(2048)),  # noqa: E501
     {"items": [{"url": _url(2048)}]}),
    ("note 280 two-byte characters", lambda m: eq(len(m.note), 280), {"note": "é" * 280}),
    ("nodisclose false", lambda m: eq(m.nodisclose, False), {"nodisclose": False}),
    ("preserve 2100-01-01", lambda m: eq(m.preserve, 4102444800), {"preserve": 4102444800}),
    ("cat other", lambda m: eq(m.cat, "other"), {"cat": "other"}),
    ("empty strings", lambda m: eq((m.basis, m.ref), ("", "")), {"basis": "", "ref": ""}),
]

BAD_OTHERS = [
    ("withdraw without ref", withdraw, "ref", {"ref": None}),
    ("withdraw ref as text", withdraw, "ref", {"ref": "d0ae5e752f52900f"}),
    ("withdraw id 7 bytes", withdraw, "id", {"id": b"1234567"}),
    ("withdraw without iat", withdraw, "iat", {"iat": None}),
    ("withdraw iat 301 s ahead", withdraw, "iat", {"iat": NOW + 301}),
    ("withdraw v 2", withdraw, "v", {"v": 2}),
    ("ping without id", ping, "id", {"id": None}),
    ("ping id 33 bytes", ping, "id", {"id": b"p" * 33}),
    ("ping without iss", ping, "iss", {"iss": None}),
    ("ping without aud", ping, "aud", {"aud": None}),
    ("ping iat negative", ping, "iat", {"iat": -1}),
    ("ping t misspelt", ping, "t", {"t": "Ping"}),
]


def cases():
    out = []
    for name, needle, changes in BAD_NOTICES:
        out.append(("notice refused: " + name, _bad(notice, needle, **changes)))
    for name, check_fn, changes in GOOD_NOTICES:
        out.append(("notice accepted: " + name, _good(notice, check_fn, **changes)))
    for name, make, needle, changes in BAD_OTHERS:
        out.append(("refused: " + name, _bad(make, needle, **changes)))
    return out


def test_payload_not_a_map():
    for payload in ([1, 2], "notice", 1, None, b"x"):
        e = reject("claims", sign(payload))
        assert "map" in e.detail, e.detail


def test_detail_texts():
    items = [{"url": "u"}] * 65
    eq(reject("claims", sign(notice(items=items))).detail,
       "items: 65 entries, at least 1 and at most 64")
    eq(reject("claims", sign(notice(iat=1799999900, due=1799999800))).detail,
       "due 1799999800 not after iat 1799999900")


def test_details_quote_peer_values_briefly():
    for changes in ({"t": "x" * 5000}, {"cat": "c" * 5000},
                    {"items": [{"url": "u", "k" * 3000: 1}]}):
        e = reject("claims", sign(notice(**changes)))
        assert len(e.detail) < 80 and "..." in e.detail, e.detail
    e = reject("wrong-device", sign(notice(aud="a" * 4000)))
    assert len(e.detail) < 120, e.detail


def test_unknown_top_level_keys_ignored_for_every_kind():
    for make in (notice, withdraw, ping):
        msg = check(sign(make(x_new=[{"a": b"b"}], extra=1)))
        eq(msg.iss, ISS)


# --- trust store ---------------------------------------------------------------------

def test_trusted_key_kid_and_validation():
    k = TrustedKey(ISS, KEY.public, not_after=5)
    eq(k.kid, cose.kid_of(KEY.public))
    assert k.expired(6) and not k.expired(5)
    for args in (("", KEY.public), (None, KEY.public), (ISS, KEY.public[:31]),
                 (ISS, KEY.public + b"\x00"), (ISS, "00" * 32)):
        raises(ValueError, TrustedKey, *args)
    raises(ValueError, TrustedKey, ISS, KEY.public, not_after="tomorrow")
    raises(ValueError, TrustedKey, ISS, KEY.public, not_after=-1)
    raises(ValueError, TrustedKey, ISS, KEY.public, revoked=1)


def test_trust_store_list_round_trip_through_cbor():
    entries = TRUST.to_list()
    eq(entries[1], {"iss": ISS, "key": OLD.public, "not_after": NOW + 86400, "revoked": False})
    eq(entries[2]["revoked"], True)
    back = TrustStore.from_list(cbor.loads(cbor.dumps(entries)))
    eq(back.to_list(), entries)
    eq(back.issuers(), ["eu.other", ISS])
    eq(len(back), 5)
    eq([k.iss for k in back.lookup(cose.kid_of(OTHER.public))], ["eu.other"])
    eq(back.lookup(b"\x00" * 8), [])


def test_trust_store_from_minimal_entries():
    store = TrustStore.from_list([{"iss": ISS, "key": KEY.public}])
    eq(store.to_list(), [{"iss": ISS, "key": KEY.public, "not_after": None, "revoked": False}])
    raises(ValueError, TrustStore.from_list, [{"iss": ISS, "key": b"short"}])


# --- receipts -------------------------------------------------------------------------

DEV_KEY = ed25519.SigningKey(bytes(range(50, 82)))
DEV_KID = cose.kid_of(DEV_KEY.public)
NH = hashlib.sha256(b"message").digest()


def chained(kind="delivered", seq=2, prev=b"\x01" * 32, **kw):
    return receipts.build(DEV_KEY, DEV_KID, DEV, seq, prev, kind, NOW, "ntp", iss=ISS,
                          nid=ID, nh=NH, **kw)


def test_receipt_payload_and_signature():
    raw = chained("cannot-comply", reason="missing-info", note="Geen URL")
    s = cose.decode_sign1(raw)
    eq(raw[0], 0xd2)
    eq(s.kid, DEV_KID)
    cose.check_alg(s)
    assert cose.verify(s, DEV_KEY.public)
    # Core deterministic encoding: re-encoding the decoded payload gives the same bytes.
    eq(cbor.dumps(cbor.loads(s.payload)), s.payload)
    eq(receipts.decode(raw), {"v": 1, "t": "receipt", "dev": DEV, "seq": 2, "prev": b"\x01" * 32,
                              "kind": "cannot-comply", "iss": ISS, "nid": ID, "nh": NH,
                              "at": NOW, "clock": "ntp", "reason": "missing-info",
                              "note": "Geen URL"})
    eq(chained("cannot-comply", reason="missing-info", note="Geen URL"), raw, "deterministic")


def test_status_answer_unchained_and_ping_answer_chained():
    head = receipts.chain_hash(chained())
    eq(head, hashlib.sha256(chained()).digest())
    raw = receipts.build(DEV_KEY, DEV_KID, DEV, 0, head, "status", NOW, "untrusted",
                         state={"active": 3, "clock": "untrusted"})
    d = receipts.decode(raw)
    eq((d["seq"], d["prev"], d["kind"], d["state"]), (0, head, "status",
                                                       {"active": 3, "clock": "untrusted"}))
    for absent in ("iss", "nid", "nh"):
        assert absent not in d, absent
    d = receipts.decode(chained("status", state={"active": 0}))
    eq((d["seq"], d["nid"], d["state"]), (2, ID, {"active": 0}))


def test_first_receipt_has_zero_prev():
    eq(receipts.ZERO_HASH, bytes(32))
    eq(receipts.decode(chained(seq=1, prev=receipts.ZERO_HASH))["prev"], bytes(32))
    raises(ValueError, chained, seq=1, prev=b"\x01" * 32)


def test_receipt_misuse_raises_value_error():
    for kw in ({"kind": "deleted"}, {"kind": "seen", "reason": "other"},
               {"kind": "cannot-comply", "reason": "bored"}, {"kind": "seen", "note": "x"},
               {"kind": "not-ours", "note": b"x"}, {"kind": "delivered", "state": {"a": 1}},
               {"kind": "status", "state": {1: 1}}, {"kind": "status", "state": [1]},
               {"seq": -1}, {"seq": True}, {"prev": b"\x01" * 31}, {"prev": None},
               {"seq": 0}):
        raises(ValueError, chained, **kw)
    raises(ValueError, receipts.build, DEV_KEY, DEV_KID, DEV, 3, NH, "seen", NOW, "gps",
           iss=ISS, nid=ID, nh=NH)
    raises(ValueError, receipts.build, DEV_KEY, DEV_KID, DEV, 3, NH, "seen", -1, "rtc",
           iss=ISS, nid=ID, nh=NH)
    raises(ValueError, receipts.build, DEV_KEY, DEV_KID, "", 3, NH, "seen", NOW, "rtc",
           iss=ISS, nid=ID, nh=NH)
    raises(ValueError, receipts.build, DEV_KEY, DEV_KID, DEV, 3, NH, "seen", NOW, "rtc",
           iss=ISS, nid=ID)                                  # nh missing on a chained receipt
    raises(ValueError, receipts.build, DEV_KEY, DEV_KID, DEV, 3, NH, "seen", NOW, "rtc",
           iss=ISS, nid=ID, nh=NH[:16])
    raises(ValueError, receipts.build, DEV_KEY, DEV_KID, DEV, 0, NH, "status", NOW, "rtc",
           iss=ISS, nid=ID, nh=NH)                           # GET /status answers no message


def test_receipt_decode_refuses_non_receipts():
    refused("cose-structure", receipts.decode, sign(ping()))
    refused("cbor", receipts.decode, b"\xd2")
