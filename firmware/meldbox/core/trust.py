"""The issuer keys a device trusts (PROTOCOL.md section 1): per issuer one or more
Ed25519 public keys, each with an optional not-after time and a revoked flag.

The store persists a TrustStore as a plain list of dicts
{"iss": str, "key": bytes, "not_after": int or None, "revoked": bool} (CBOR on flash).
"""
from meldbox.core.cose import kid_of


# y-coordinates (little endian) of the 8 Ed25519 points of small order (identity, order
# 2, 4 and 8), with the sign bit of x either way. A signature under such a key proves
# nothing (anyone can make one), so such a key is never trusted. Bytes, not ints: a
# constant in ROM costs no heap on the device.
_SMALL_ORDER_Y = (
    b"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
    b"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
    b"\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
    b"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
    b"\xec\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"
    b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f"
    b"\x26\xe8\x95\x8f\xc2\xb2\x27\xb0\x45\xc3\xf4\x89\xf2\xef\x98\xf0"
    b"\xd5\xdf\xac\x05\xd3\xc6\x33\x39\xb1\x38\x02\x88\x6d\x53\xfc\x05"
    b"\xc7\x17\x6a\x70\x3d\x4d\xd8\x4f\xba\x3c\x0b\x76\x0d\x10\x67\x0f"
    b"\x2a\x20\x53\xfa\x2c\x39\xcc\xc6\x4e\xc7\xfd\x77\x92\xac\x03\x7a")


def small_order(public):
    """True for an encoding of a small-order point (also non-canonical ones, y >= p)."""
    y = int.from_bytes(bytes(public), "little") & ((1 << 255) - 1)
    y = (y % ((1 << 255) - 19)).to_bytes(32, "little")
    for i in range(0, len(_SMALL_ORDER_Y), 32):
        if _SMALL_ORDER_Y[i:i + 32] == y:
            return True
    return False


class TrustedKey:
    __slots__ = ("iss", "public", "not_after", "revoked", "kid")

    def __init__(self, iss, public, not_after=None, revoked=False):
        # Bad provisioning data is our own misuse, not a peer's: ValueError.
        if not isinstance(iss, str) or not iss:
            raise ValueError("issuer id must be a non-empty text, got %r" % (iss,))
        if not isinstance(public, (bytes, bytearray)) or len(public) != 32:
            raise ValueError("key of %s must be 32 raw Ed25519 bytes" % iss)
        if small_order(public):
            raise ValueError("key of %s is a small-order point: anyone could sign for it" % iss)
        if not_after is not None and (type(not_after) is not int or not_after < 0):
            raise ValueError("not_after of %s must be POSIX seconds or None" % iss)
        if type(revoked) is not bool:
            raise ValueError("revoked of %s must be a bool" % iss)
        self.iss = iss
        self.public = bytes(public)
        self.not_after = not_after
        self.revoked = revoked
        self.kid = kid_of(self.public)

    def expired(self, now):
        """Past not-after; the key is still good during its last second."""
        return self.not_after is not None and self.not_after < now

    def to_dict(self):
        return {"iss": self.iss, "key": self.public, "not_after": self.not_after,
                "revoked": self.revoked}

    def __repr__(self):
        return "TrustedKey(%r, kid=%s%s)" % (self.iss, self.kid.hex(),
                                              ", revoked" if self.revoked else "")


class TrustStore:
    def __init__(self, keys=()):
        self.keys = list(keys)
        # Several entries can share a kid (the same key trusted for two issuers, or a
        # kid collision): lookup returns all of them and the caller decides.
        self._by_kid = {}
        for key in self.keys:
            self._by_kid.setdefault(key.kid, []).append(key)

    def lookup(self, kid):
        """Every trusted key with this kid (empty list when none)."""
        return self._by_kid.get(bytes(kid), [])

    def issuers(self):
        """Issuer ids with at least one key, sorted."""
        return sorted(set(key.iss for key in self.keys))

    def __len__(self):
        return len(self.keys)

    def __iter__(self):
        return iter(self.keys)

    def to_list(self):
        return [key.to_dict() for key in self.keys]

    @classmethod
    def from_list(cls, entries):
        """Inverse of to_list; a missing not_after/revoked means none/false."""
        keys = []
        for entry in entries:
            if small_order(entry["key"]):   # provisioning refuses these; never trust one
                continue
            keys.append(TrustedKey(entry["iss"], entry["key"], entry.get("not_after"),
                                   entry.get("revoked", False)))
        return cls(keys)


def fingerprint(public_key):
    """What the panel and the host tool show for a key: the first 16 bytes of its SHA-256
    in groups of four hex digits ('7f3a 91c2 ...'); the first 16 digits are its kid."""
    from binascii import hexlify
    from hashlib import sha256
    h = hexlify(sha256(bytes(public_key)).digest()[:16]).decode()
    return " ".join(h[i:i + 4] for i in range(0, 32, 4))
