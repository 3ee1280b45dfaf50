"""The hotline's view of the Meldbox protocol (docs/PROTOCOL.md), on CPython.

Builds and signs notices, withdraws and pings (pycose, cryptography, cbor2), verifies
device receipts, follows each device's receipt hash chain, decodes problem details and
keeps a hotline's key file. The simulator tests, the demo and the host commands all
build on this module, so it stays free of networking.
"""

import hashlib
import io
import json
import os
import secrets
import time
from collections import namedtuple
from collections.abc import Iterable
from typing import Any

import cbor2
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pycose.algorithms import EdDSA
from pycose.headers import KID, Algorithm
from pycose.keys import OKPKey
from pycose.keys.curves import Ed25519
from pycose.messages import Sign1Message

# --- protocol constants (PROTOCOL.md) ----------------------------------------------
VERSION = 1
COSE_SIGN1_TAG = 18
ALG_EDDSA = -8
HDR_ALG = 1
HDR_KID = 4
CF_COSE_SIGN1 = 18  # CoAP Content-Format application/cose; cose-type="cose-sign1"
CF_PROBLEM_DETAILS = 257  # application/concise-problem-details+cbor (RFC 9290)
CF_LINK_FORMAT = 40
MAX_COSE_BYTES = 8192
ZERO_HASH = bytes(32)
CATEGORIES = ("csam", "terror", "other")
RECEIPT_KINDS = (
    "delivered",
    "seen",
    "removed",
    "not-ours",
    "disputed",
    "cannot-comply",
    "withdrawn",
    "status",
    "checkpoint",
)
CLOCK_SOURCES = ("rtc", "ntp", "hotline", "untrusted")
WITHIN_MIN, WITHIN_MAX = 60, 2592000
DEFAULT_DUE_IN = 24 * 3600  # EOKM's expectation: removal within 24 h of the notice
ID_BYTES = 16

# CoAP codes as on the wire (class << 5 | detail), same values as firmware core/errors.py.
BAD_REQUEST = 0x80
UNAUTHORIZED = 0x81
FORBIDDEN = 0x83

# RFC 9290 standard problem detail keys.
PROBLEM_KEYS = {
    -1: "title",
    -2: "detail",
    -3: "instance",
    -4: "response-code",
    -5: "base-uri",
    -6: "base-lang",
    -7: "base-rtl",
}


def code_text(code: int) -> str:
    """0x81 -> '4.01'."""
    return "%d.%02d" % (code >> 5, code & 31)


# --- keys ---------------------------------------------------------------------------
def kid_of(public_key: Any) -> bytes:
    """The key id of PROTOCOL.md 1: the first 8 bytes of SHA-256 of the raw public key."""
    return hashlib.sha256(public_bytes(public_key)).digest()[:8]


def private_key_of(key: Any) -> Ed25519PrivateKey:
    """An Ed25519PrivateKey from a 32-byte seed, a HotlineKey or such a key itself."""
    if isinstance(key, Ed25519PrivateKey):
        return key
    if isinstance(key, HotlineKey):
        return key.private_key
    if isinstance(key, (bytes, bytearray)) and len(key) == 32:
        return Ed25519PrivateKey.from_private_bytes(bytes(key))
    raise TypeError("expected an Ed25519 private key or its 32-byte seed")


def seed_of(key: Any) -> bytes:
    return private_key_of(key).private_bytes_raw()


def public_bytes(key: Any) -> bytes:
    """The raw 32-byte public key of a private key, a public key object or raw bytes."""
    if isinstance(key, (bytes, bytearray)):
        if len(key) != 32:
            raise ValueError("an Ed25519 public key is 32 bytes, got %d" % len(key))
        return bytes(key)
    if isinstance(key, Ed25519PublicKey):
        return key.public_bytes_raw()
    return private_key_of(key).public_key().public_bytes_raw()


def chain_hash(cose_bytes: bytes) -> bytes:
    """SHA-256 of a receipt's COSE bytes: the next receipt's `prev`."""
    return hashlib.sha256(cose_bytes).digest()


def notice_hash(cose_bytes: bytes) -> bytes:
    """A message's `nh` (PROTOCOL.md 2): SHA-256 of the deterministic CBOR array
    [protected, payload, signature] of its COSE_Sign1, what the signature covers. The tag
    and the unprotected header are left out: a re-wrapped copy has the same nh."""
    s = decode_sign1(cose_bytes)
    return hashlib.sha256(
        cbor2.dumps([s.protected_bytes, s.payload, s.signature], canonical=True)
    ).digest()


class HotlineKey(namedtuple("HotlineKey", "iss private_key")):
    """An issuer id with its Ed25519 signing key."""

    __slots__ = ()

    @property
    def public(self) -> bytes:
        return public_bytes(self.private_key)

    @property
    def kid(self) -> bytes:
        return kid_of(self.public)

    @classmethod
    def generate(cls, iss: str) -> "HotlineKey":
        return cls(iss, Ed25519PrivateKey.generate())


KEY_FILE_FORMAT = "meldbox-hotline-key/1"


def save_key(path: str, key: HotlineKey, overwrite: bool = False) -> dict:
    """Write a HotlineKey as a small JSON file readable by its owner only (mode 0600):
    {"format": "meldbox-hotline-key/1", "iss": ..., "seed": 64 hex, "public": 64 hex,
    "kid": 16 hex}. `public` and `kid` are there for people; loading checks them."""
    doc = {
        "format": KEY_FILE_FORMAT,
        "iss": key.iss,
        "seed": seed_of(key).hex(),
        "public": key.public.hex(),
        "kid": key.kid.hex(),
    }
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if overwrite else os.O_EXCL)
    fd = os.open(path, flags, 0o600)
    with os.fdopen(fd, "w") as f:
        os.fchmod(f.fileno(), 0o600)  # O_CREAT's mode does not apply to an existing file
        json.dump(doc, f, indent=2)
        f.write("\n")
    return doc


class KeyFileError(ValueError):
    pass


def load_key(path: str) -> HotlineKey:
    """Read a key file written by save_key -> HotlineKey; KeyFileError if it is not one."""
    try:
        with open(path) as f:
            doc = json.load(f)
        if doc.get("format") != KEY_FILE_FORMAT:
            raise KeyFileError("%s: not a %s file" % (path, KEY_FILE_FORMAT))
        iss, seed = doc["iss"], bytes.fromhex(doc["seed"])
        if not isinstance(iss, str) or not iss or len(seed) != 32:
            raise KeyFileError("%s: needs a text iss and a 32-byte seed" % path)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        if isinstance(exc, KeyFileError):
            raise
        raise KeyFileError("%s: cannot read key file: %s" % (path, exc)) from None
    key = HotlineKey(iss, Ed25519PrivateKey.from_private_bytes(seed))
    if "public" in doc and doc["public"] != key.public.hex():
        raise KeyFileError("%s: public key does not match the seed" % path)
    return key


# --- messages (PROTOCOL.md 3) -----------------------------------------------------
def new_id() -> bytes:
    return secrets.token_bytes(ID_BYTES)


def make_item(url: str, ip: bytes | None = None, sha256: bytes | None = None) -> dict:
    item = {"url": url}
    if ip is not None:
        item["ip"] = ip
    if sha256 is not None:
        item["sha256"] = bytes(sha256)
    return item


def _header(kind, iss, aud, id, iat):
    return {
        "v": VERSION,
        "t": kind,
        "id": new_id() if id is None else bytes(id),
        "iss": iss,
        "aud": aud,
        "iat": int(time.time()) if iat is None else iat,
    }


def build_notice(
    iss: str,
    aud: str,
    urls: Iterable[str] = (),
    *,
    items: list | None = None,
    due: int | None = None,
    within: int | None = None,
    cat: str = "other",
    basis: str = "NL NTD code",
    ref: str | None = None,
    id: bytes | None = None,
    iat: int | None = None,
    lang: str | None = None,
    note: str | None = None,
    contact: str | None = None,
    redress: str | None = None,
    replaces: bytes | None = None,
    nodisclose: bool | None = None,
    preserve: int | None = None,
    test: bool | None = None,
) -> dict:
    """The claims of a notice. Give `urls` (or full `items`); the deadline is `due`
    (POSIX) or `within` (seconds from receipt), by default due 24 h after `iat`.
    Returns a plain dict: edit it freely to craft odd notices for tests."""
    if due is not None and within is not None:
        raise ValueError("give due or within, not both")
    claims = _header("notice", iss, aud, id, iat)
    if items is None:
        items = [make_item(u) for u in urls]
    if not items:
        raise ValueError("a notice needs at least one item")
    if within is not None:
        claims["within"] = within
    else:
        claims["due"] = claims["iat"] + DEFAULT_DUE_IN if due is None else due
    claims.update(
        cat=cat,
        basis=basis,
        items=list(items),
        ref="MB-" + claims["id"][:4].hex() if ref is None else ref,
    )
    optional = {
        "lang": lang,
        "note": note,
        "contact": contact,
        "redress": redress,
        "replaces": None if replaces is None else bytes(replaces),
        "nodisclose": nodisclose,
        "preserve": preserve,
        "test": test,
    }
    claims.update((k, v) for k, v in optional.items() if v is not None)
    return claims


def build_withdraw(
    iss: str, aud: str, notice_id: bytes, *, id: bytes | None = None, iat: int | None = None
) -> dict:
    """The claims of a withdraw of the notice `notice_id` (bytes)."""
    claims = _header("withdraw", iss, aud, id, iat)
    claims["ref"] = bytes(notice_id)
    return claims


def build_ping(iss: str, aud: str, *, id: bytes | None = None, iat: int | None = None) -> dict:
    """The claims of a ping (the device answers with a status receipt)."""
    return _header("ping", iss, aud, id, iat)


def encode_claims(claims: dict) -> bytes:
    """Core deterministic CBOR (RFC 8949 4.2.1; cbor2's length-first order equals it for
    the text keys this protocol uses)."""
    return cbor2.dumps(claims, canonical=True)


# --- COSE_Sign1 (PROTOCOL.md 2) ------------------------------------------------------
def sign(claims: dict, private_key: Any, kid: bytes | None = None) -> bytes:
    """COSE_Sign1 bytes of `claims` made with pycose: tag 18, protected {1: -8},
    unprotected {4: kid} (kid_of the signer's public key unless given)."""
    priv = private_key_of(private_key)
    kid = kid_of(priv) if kid is None else bytes(kid)
    msg = Sign1Message(phdr={Algorithm: EdDSA}, uhdr={KID: kid}, payload=encode_claims(claims))
    msg.key = OKPKey(crv=Ed25519, d=priv.private_bytes_raw(), x=public_bytes(priv))
    return msg.encode(tag=True)


def sig_structure(protected_bytes: bytes, payload_bytes: bytes) -> bytes:
    """RFC 9052 Sig_structure for COSE_Sign1 with empty external_aad."""
    return cbor2.dumps(["Signature1", protected_bytes, b"", payload_bytes])


def sign_raw(
    payload_bytes: bytes,
    private_key: Any,
    kid: bytes | None = None,
    protected: dict | bytes | None = None,
    unprotected: dict | None = None,
    tag: bool = True,
) -> bytes:
    """A COSE_Sign1 over exactly `payload_bytes`, for crafting odd messages in tests.

    `protected` is a header map (default {1: -8}) or its exact encoded bytes;
    `unprotected` a map (default {4: kid}). The signature is always Ed25519 over the
    Sig_structure, whatever alg the headers claim, so a verifier must catch the lie."""
    priv = private_key_of(private_key)
    kid = kid_of(priv) if kid is None else bytes(kid)
    if protected is None:
        protected = {HDR_ALG: ALG_EDDSA}
    protected_bytes = (
        protected
        if isinstance(protected, (bytes, bytearray))
        else (cbor2.dumps(protected, canonical=True) if protected else b"")
    )
    unprotected = {HDR_KID: kid} if unprotected is None else unprotected
    signature = priv.sign(sig_structure(bytes(protected_bytes), payload_bytes))
    body = [bytes(protected_bytes), unprotected, payload_bytes, signature]
    return cbor2.dumps(cbor2.CBORTag(COSE_SIGN1_TAG, body) if tag else body)


class ReceiptError(ValueError):
    """A receipt (or any COSE_Sign1 from a device) that cannot be accepted. `code` is
    the CoAP code a hotline answers with, `reason` a stable token."""

    code = BAD_REQUEST
    reason = "malformed"


class MalformedCOSE(ReceiptError):
    reason = "cose-structure"


class BadAlgorithm(ReceiptError):
    code = UNAUTHORIZED
    reason = "bad-alg"


class BadSignature(ReceiptError):
    code = UNAUTHORIZED
    reason = "bad-signature"


class BadClaims(ReceiptError):
    reason = "claims"


Sign1 = namedtuple("Sign1", "protected_bytes protected unprotected payload signature tagged")


def decode_sign1(cose_bytes: bytes) -> Sign1:
    """Check the COSE_Sign1 structure (tagged or not) -> Sign1; MalformedCOSE otherwise.
    Nothing here is authenticated yet."""
    if not isinstance(cose_bytes, (bytes, bytearray)) or len(cose_bytes) > MAX_COSE_BYTES:
        raise MalformedCOSE("not a COSE_Sign1 of at most %d bytes" % MAX_COSE_BYTES)
    fp = io.BytesIO(bytes(cose_bytes))
    try:
        obj = cbor2.CBORDecoder(fp).decode()
    except Exception as exc:  # cbor2 raises several types on bad input
        raise MalformedCOSE("not CBOR: %s" % exc) from None
    if fp.tell() != len(cose_bytes):
        raise MalformedCOSE("%d bytes after the COSE object" % (len(cose_bytes) - fp.tell()))
    tagged = isinstance(obj, cbor2.CBORTag)
    if tagged:
        if obj.tag != COSE_SIGN1_TAG:
            raise MalformedCOSE("tag %d is not COSE_Sign1 (18)" % obj.tag)
        obj = obj.value
    if not isinstance(obj, list) or len(obj) != 4:
        raise MalformedCOSE("COSE_Sign1 is an array of 4")
    protected_bytes, unprotected, payload, signature = obj
    if not (
        isinstance(protected_bytes, bytes)
        and isinstance(unprotected, dict)
        and isinstance(payload, bytes)
        and isinstance(signature, bytes)
    ):
        raise MalformedCOSE("COSE_Sign1 is [bstr, map, bstr, bstr]")
    try:
        protected = cbor2.loads(protected_bytes) if protected_bytes else {}
    except Exception as exc:
        raise MalformedCOSE("protected header is not CBOR: %s" % exc) from None
    if not isinstance(protected, dict):
        raise MalformedCOSE("protected header is not a map")
    return Sign1(protected_bytes, protected, unprotected, payload, signature, tagged)


def sign1_kid(sign1: Sign1) -> bytes | None:
    """The kid of a decoded Sign1 (unprotected, else protected), or None."""
    kid = sign1.unprotected.get(HDR_KID, sign1.protected.get(HDR_KID))
    return kid if isinstance(kid, bytes) else None


def verify_sign1(cose_bytes: bytes, public_key: Any) -> tuple[Sign1, dict]:
    """Structure, alg (exactly {1: -8} protected, no alg unprotected) and the Ed25519
    signature, checked with pycose -> (Sign1, claims dict)."""
    s1 = decode_sign1(cose_bytes)
    if s1.protected.get(HDR_ALG) != ALG_EDDSA or HDR_ALG in s1.unprotected:
        raise BadAlgorithm("alg must be EdDSA (-8) in the protected header only")
    if cbor2.dumps(s1.protected, canonical=True) != s1.protected_bytes:
        # also catches duplicate labels, which a lenient decoder folds into one
        raise MalformedCOSE("protected header is not in deterministic encoding")
    # pycose decodes tagged objects only; the signature covers the elements, not the tag.
    tagged = bytes(cose_bytes) if s1.tagged else b"\xd2" + bytes(cose_bytes)
    try:
        msg = Sign1Message.decode(tagged)
        msg.key = OKPKey(crv=Ed25519, x=public_bytes(public_key))
        good = msg.verify_signature()
    except Exception as exc:  # pycose raises assorted types for odd headers
        raise BadSignature("signature cannot be checked: %s" % exc) from None
    if not good:
        raise BadSignature("signature does not verify with the device key")
    try:
        claims = cbor2.loads(s1.payload)
    except Exception as exc:
        raise BadClaims("payload is not CBOR: %s" % exc) from None
    if not isinstance(claims, dict):
        raise BadClaims("payload is not a map")
    if encode_claims(claims) != s1.payload:
        raise BadClaims("payload is not in deterministic encoding (RFC 8949 4.2.1)")
    return s1, claims


def _need(claims, key, kinds, test=None):
    value = claims.get(key)
    if not isinstance(value, kinds) or isinstance(value, bool) and kinds is not bool:
        raise BadClaims("receipt claim %r missing or mistyped" % key)
    if test is not None and not test(value):
        raise BadClaims("receipt claim %r out of range: %r" % (key, value))
    return value


def check_receipt_claims(claims: dict) -> dict:
    """PROTOCOL.md 4 on a decoded receipt payload; BadClaims on the first problem."""
    _need(claims, "v", int, lambda v: v == VERSION)
    _need(claims, "t", str, lambda v: v == "receipt")
    _need(claims, "dev", str, len)
    _need(claims, "seq", int, lambda v: v >= 0)
    _need(claims, "prev", bytes, lambda v: len(v) == 32)
    kind = _need(claims, "kind", str, lambda v: v in RECEIPT_KINDS)
    _need(claims, "at", int, lambda v: v >= 0)
    _need(claims, "clock", str, lambda v: v in CLOCK_SOURCES)
    # seq 0 is the unchained answer to GET /status; a ping is answered by a chained
    # status receipt (seq >= 1) that names the ping like every other answer does.
    if claims["seq"] == 0 and kind != "status":
        raise BadClaims("seq 0 is for status receipts only")
    if kind == "checkpoint":
        # written before the device prunes its log: names the newest receipt pruned
        _need(claims, "pseq", int, lambda v: 0 < v < claims["seq"])
        _need(claims, "ph", bytes, lambda v: len(v) == 32)
    elif claims["seq"] != 0:
        _need(claims, "iss", str)
        _need(claims, "nid", bytes)
        _need(claims, "nh", bytes, lambda v: len(v) == 32)
    if claims["seq"] == 1 and claims["prev"] != ZERO_HASH:
        raise BadClaims("seq 1 must have prev of 32 zero bytes")
    return claims


def verify_receipt(cose_bytes: bytes, device_public_key: Any) -> dict:
    """Verify a device receipt -> its payload as a dict. Raises a ReceiptError subclass
    (MalformedCOSE, BadAlgorithm, BadSignature, BadClaims) with the reason."""
    _, claims = verify_sign1(cose_bytes, device_public_key)
    return check_receipt_claims(claims)


def receipt_answers(receipt: dict, message_bytes: bytes, message_id: bytes | None = None) -> bool:
    """True when a receipt names this message: its nh (notice_hash), nid its id (if known)."""
    if receipt.get("nh") != notice_hash(message_bytes):
        return False
    return message_id is None or receipt.get("nid") == message_id


def peek_claims(cose_bytes: bytes) -> dict | None:
    """The payload map of a COSE_Sign1 without checking anything, or None."""
    try:
        claims = cbor2.loads(decode_sign1(cose_bytes).payload)
    except Exception:
        return None
    return claims if isinstance(claims, dict) else None


# --- the receipt chain (PROTOCOL.md 4) ---------------------------------------------
Link = namedtuple("Link", "hash prev")
ChainResult = namedtuple("ChainResult", "status dev seq detail missing")
CHAIN_OK, CHAIN_REPEAT, CHAIN_GAP, CHAIN_FORK, CHAIN_STATUS = (
    "ok",
    "repeat",
    "gap",
    "fork",
    "status",
)


class ReceiptChain:
    """Follows each device's receipt chain as receipts arrive (in any order).

    add() returns a ChainResult whose status is
      ok      the receipt links to its known predecessor (or is seq 1 with zero prev),
      repeat  the same bytes for a (dev, seq) already held (a retransmission),
      gap     its predecessor has not arrived: `missing` lists the seqs not seen,
      fork    it contradicts what is held: another receipt for the same seq, or a prev
              that is not the hash of the receipt before it (or after it),
      status  a seq-0 status receipt; ok unless its prev is not the known chain head.
    Receipts with status ok, gap or fork are kept (a fork's first receipt stays the one
    the chain follows); callers decide what to do with each."""

    def __init__(self):
        self._links = {}  # dev -> {seq: Link}
        self._forks = {}  # dev -> [(seq, hash)] of contradicting receipts

    def add(self, receipt: dict, cose_bytes: bytes) -> "ChainResult":
        dev, seq, prev = receipt["dev"], receipt["seq"], receipt["prev"]
        h = chain_hash(cose_bytes)
        links = self._links.setdefault(dev, {})
        if seq == 0:
            head = self.head(dev)
            if head and prev != links[head].hash:
                return ChainResult(
                    CHAIN_FORK, dev, 0, "status prev is not the chain head %d" % head, []
                )
            return ChainResult(CHAIN_STATUS, dev, 0, "", [])
        if seq in links:
            if links[seq].hash == h:
                return ChainResult(CHAIN_REPEAT, dev, seq, "", [])
            self._forks.setdefault(dev, []).append((seq, h))
            return ChainResult(
                CHAIN_FORK, dev, seq, "another receipt with seq %d is held" % seq, []
            )
        problems, missing = [], []
        if seq == 1:
            if prev != ZERO_HASH:
                problems.append("seq 1 has a prev other than zeros")
        elif seq - 1 in links:
            if prev != links[seq - 1].hash:
                problems.append("prev is not the hash of seq %d" % (seq - 1))
        else:
            below = max((s for s in links if s < seq), default=0)
            missing = list(range(below + 1, seq))
        after = links.get(seq + 1)
        if after is not None and after.prev != h:
            problems.append("seq %d does not point at this receipt" % (seq + 1))
        links[seq] = Link(h, prev)
        if problems:
            self._forks.setdefault(dev, []).append((seq, h))
            return ChainResult(CHAIN_FORK, dev, seq, "; ".join(problems), missing)
        if missing:
            return ChainResult(CHAIN_GAP, dev, seq, "missing seq %s" % _ranges(missing), missing)
        return ChainResult(CHAIN_OK, dev, seq, "", [])

    def head(self, dev: str) -> int:
        """The highest seq held for `dev` (0 if none)."""
        return max(self._links.get(dev, ()), default=0)

    def has(self, dev: str, seq: int) -> bool:
        return seq in self._links.get(dev, {})

    def gaps(self, dev: str) -> list[int]:
        """Seqs below the head not (yet) received."""
        links = self._links.get(dev, {})
        return [s for s in range(1, self.head(dev)) if s not in links]

    def forks(self, dev: str) -> list[tuple[int, bytes]]:
        return list(self._forks.get(dev, []))

    def devices(self) -> list[str]:
        return sorted(self._links)


def _ranges(seqs):
    """[2, 3, 4, 7] -> '2-4, 7'."""
    out, start = [], None
    for i, s in enumerate(seqs):
        if start is None:
            start = s
        if i + 1 == len(seqs) or seqs[i + 1] != s + 1:
            out.append(str(start) if start == s else "%d-%d" % (start, s))
            start = None
    return ", ".join(out)


# --- problem details (RFC 9290) --------------------------------------------------------
class ProblemDetailsError(ValueError):
    pass


def decode_problem(payload: bytes) -> dict:
    """RFC 9290 concise problem details -> {"title": ..., "detail": ..., ...}; other keys
    keep their CBOR key (as text if it is an int). ProblemDetailsError if not a map."""
    try:
        obj = cbor2.loads(payload)
    except Exception as exc:
        raise ProblemDetailsError("problem details are not CBOR: %s" % exc) from None
    if not isinstance(obj, dict):
        raise ProblemDetailsError("problem details are not a CBOR map")
    return {PROBLEM_KEYS.get(k, str(k)): v for k, v in obj.items()}


def encode_problem(title: str, detail: str | None = None, **extra: Any) -> bytes:
    doc = {-1: title}
    if detail is not None:
        doc[-2] = detail
    doc.update(extra)
    return cbor2.dumps(doc, canonical=True)


# --- printing ---------------------------------------------------------------------------
def jsonable(obj: Any) -> Any:
    """Claims with bytes as hex strings, ready for json.dumps."""
    if isinstance(obj, (bytes, bytearray)):
        return bytes(obj).hex()
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, cbor2.CBORTag):
        return {"tag": obj.tag, "value": jsonable(obj.value)}
    return obj
