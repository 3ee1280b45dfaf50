"""COSE_Sign1 (RFC 9052) as PROTOCOL.md section 2 uses it: decode, alg check, verify, sign.

Only what the protocol needs: one signer, EdDSA (Ed25519), empty external_aad, attached
payload. Every malformed object raises a core/errors.py error; nothing else escapes.
"""
import hashlib

from meldbox.core import cbor, ed25519, errors

TAG_SIGN1 = 18
ALG_EDDSA = -8
LABEL_ALG = 1
LABEL_CRIT = 2
LABEL_KID = 4
# The protected header every Meldbox sender emits: the deterministic encoding of {1: -8}.
PROTECTED_EDDSA = b"\xa1\x01\x27"
# Sig_structure prefix: array(4), then the text "Signature1".
_SIG1_HEAD = b"\x84\x6aSignature1"
# The unprotected header carries at most the kid (PROTOCOL.md 2): nothing unsigned that
# could change a message's bytes, pad it, or carry anything else past the signature.
KID_MAX = 16


class Sign1:
    """A decoded COSE_Sign1; `protected_bytes` is kept as received because the
    signature covers those exact bytes, not a re-encoding."""
    __slots__ = ("protected_bytes", "protected", "unprotected", "payload", "signature", "kid")

    def __init__(self, protected_bytes, protected, unprotected, payload, signature, kid):
        self.protected_bytes = protected_bytes
        self.protected = protected
        self.unprotected = unprotected
        self.payload = payload
        self.signature = signature
        self.kid = kid


def _is_bytes(x):
    return isinstance(x, (bytes, bytearray, memoryview))


def _plain(header):
    """A header map decoded with views: its byte-string values as bytes."""
    for k, v in header.items():
        if type(v) is memoryview:
            header[k] = bytes(v)
    return header


def decode_sign1(buf):
    """Decode a COSE_Sign1 (tag 18 or untagged). Raises CBORError subclasses for bad
    CBOR and COSEStructureError for anything that is not a usable COSE_Sign1."""
    obj = cbor.loads(buf, views=True)     # the payload stays a view of buf: no 8 KiB copy
    if isinstance(obj, cbor.Tag):
        if obj.tag != TAG_SIGN1:
            raise errors.Malformed("cose-structure",
                                   "tag %d, expected 18 (COSE_Sign1) or none" % obj.tag)
        obj = obj.value
    if not isinstance(obj, (list, tuple)):
        raise errors.Malformed("cose-structure",
                               "COSE_Sign1 must be an array, got %s" % _kind(obj))
    if len(obj) != 4:
        raise errors.Malformed("cose-structure", "COSE_Sign1 array of %d, expected 4" % len(obj))
    protected_bytes, unprotected, payload, signature = obj
    if not _is_bytes(protected_bytes):
        raise errors.Malformed("cose-structure", "protected header must be a byte string, got %s"
                                        % _kind(protected_bytes))
    # An empty bstr stands for an empty map (RFC 9052 section 3).
    protected = cbor.loads(protected_bytes) if protected_bytes else {}
    if not isinstance(protected, dict):
        raise errors.Malformed("cose-structure", "protected header must encode a map, got %s"
                                        % _kind(protected))
    if not isinstance(unprotected, dict):
        raise errors.Malformed("cose-structure", "unprotected header must be a map, got %s"
                                        % _kind(unprotected))
    if payload is None:
        raise errors.Malformed("cose-structure", "detached payload (nil) is not supported")
    if not _is_bytes(payload):
        raise errors.Malformed("cose-structure",
                               "payload must be a byte string, got %s" % _kind(payload))
    if not _is_bytes(signature):
        raise errors.Malformed("cose-structure", "signature must be a byte string, got %s"
                                        % _kind(signature))
    # We understand no critical extension, so a message naming any must be refused.
    if LABEL_CRIT in protected:
        raise errors.Malformed("cose-structure",
                               "critical header parameters (crit) are not supported")
    for label in unprotected:
        # alg is refused by check_alg, with the 4.01 PROTOCOL.md gives it.
        if label != LABEL_KID and label != LABEL_ALG:
            raise errors.Malformed("cose-structure",
                                   "unprotected header label %s: only 4 (kid) is allowed"
                                   % _short(label))
    if LABEL_KID in unprotected and not (_is_bytes(unprotected[LABEL_KID])
                                         and 1 <= len(unprotected[LABEL_KID]) <= KID_MAX):
        raise errors.Malformed("cose-structure",
                               "unprotected kid must be a byte string of 1 to %d bytes"
                               % KID_MAX)
    if LABEL_KID in unprotected and LABEL_KID in protected:
        raise errors.Malformed("cose-structure", "kid in both protected and unprotected header")
    kid = unprotected.get(LABEL_KID, protected.get(LABEL_KID))
    if kid is None:
        raise errors.Malformed("cose-structure", "kid (label 4) missing")
    if not _is_bytes(kid):
        raise errors.Malformed("cose-structure", "kid must be a byte string, got %s" % _kind(kid))
    return Sign1(bytes(protected_bytes), protected, _plain(unprotected), payload,
                 bytes(signature), bytes(kid))


def check_alg(sign1):
    """alg must be EdDSA (-8) and only in the protected header: no downgrade, no confusion."""
    if LABEL_ALG in sign1.unprotected:
        raise errors.Unauthorized("bad-alg", "alg in the unprotected header")
    if LABEL_ALG not in sign1.protected:
        raise errors.Unauthorized("bad-alg", "alg missing from the protected header")
    alg = sign1.protected[LABEL_ALG]
    if type(alg) is not int or alg != ALG_EDDSA:
        text = repr(alg)
        raise errors.Unauthorized("bad-alg", "alg %s, only -8 (EdDSA) is accepted"
                                  % (text if len(text) <= 40 else text[:37] + "..."))


def _bstr_head(n):
    if n < 24:
        return bytes((0x40 | n,))
    if n < 0x100:
        return bytes((0x58, n))
    if n < 0x10000:
        return bytes((0x59, n >> 8, n & 0xFF))
    # Messages are at most 8192 bytes (PROTOCOL.md section 3): a longer part is a bug.
    raise ValueError("COSE part of %d bytes, at most 65535 supported" % n)


def sig_structure_parts(protected_bytes, payload):
    """["Signature1", protected, h'', payload] (RFC 9052 4.4) as the tuple of its encoded
    parts: Ed25519 hashes them in order, so the payload (a view of the received message)
    is never copied."""
    return (_SIG1_HEAD, _bstr_head(len(protected_bytes)), protected_bytes, b"\x40",
            _bstr_head(len(payload)), payload)


def sig_structure(protected_bytes, payload):
    """The bytes Ed25519 signs, in one piece (for signing our own, small payloads)."""
    return b"".join(bytes(p) for p in sig_structure_parts(protected_bytes, payload))


def verify(sign1, public_key):
    """True when the signature verifies with this 32-byte Ed25519 public key."""
    return ed25519.verify(public_key, sig_structure_parts(sign1.protected_bytes, sign1.payload),
                          sign1.signature)


def sign1(payload, signing_key, kid):
    """A tagged COSE_Sign1 over `payload` (bytes): protected {1: -8}, unprotected {4: kid}."""
    signature = signing_key.sign(sig_structure(PROTECTED_EDDSA, payload))
    return cbor.dumps(cbor.Tag(TAG_SIGN1, [PROTECTED_EDDSA, {LABEL_KID: kid}, payload, signature]))


def notice_hash(sign1):
    """`nh` (PROTOCOL.md 2): SHA-256 of the deterministic CBOR array [protected, payload,
    signature], exactly what the signature covers and proves: the tag and the unprotected
    header are left out, so a re-wrapped copy has the original's nh. Hashed in parts, so
    the payload (a view of the received message) is never copied."""
    h = hashlib.sha256(b"\x83")
    for part in (sign1.protected_bytes, sign1.payload, sign1.signature):
        h.update(_bstr_head(len(part)))
        h.update(part)
    return h.digest()


def kid_of(public_key):
    """Key id of PROTOCOL.md section 1: the first 8 bytes of SHA-256 of the raw key."""
    return hashlib.sha256(public_key).digest()[:8]


def _short(value):
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _kind(obj):
    if obj is None:
        return "nil"
    if isinstance(obj, cbor.Tag):
        return "tag %d" % obj.tag
    return type(obj).__name__
