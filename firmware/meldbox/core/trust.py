"""The issuer keys a device trusts (PROTOCOL.md section 1): per issuer one or more
Ed25519 public keys, each with an optional not-after time and a revoked flag.

The store persists a TrustStore as a plain list of dicts
{"iss": str, "key": bytes, "not_after": int or None, "revoked": bool} (CBOR on flash).
"""
from meldbox.core.cose import kid_of


_P = 2 ** 255 - 19
# y-coordinates of the 8 Ed25519 points of small order (identity, order 2, 4 and 8);
# with the sign bit of x either way. A signature under such a key proves nothing
# (anyone can make one), so such a key is never trusted.
_SMALL_ORDER_Y = (0, 1, _P - 1,
                  0x05fc536d880238b13933c6d305acdfd5f098eff289f4c345b027b2c28f95e826,
                  0x7a03ac9277fdc74ec6cc392cfa53202a0f67100d760b3cba4fd84d3d706a17c7)


def small_order(public):
    """True for an encoding of a small-order point (also non-canonical ones, y >= p)."""
    y = int.from_bytes(bytes(public), "little") & ((1 << 255) - 1)
    return y % _P in _SMALL_ORDER_Y


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
        return "TrustedKey(%r, kid=%s%s)" % (self.iss, _hex(self.kid),
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


def _hex(b):
    from binascii import hexlify
    return hexlify(b).decode()


def fingerprint(public_key):
    """What the panel and the host tool show for a key: the first 16 bytes of its SHA-256
    in groups of four hex digits ('7f3a 91c2 ...'); the first 16 digits are its kid."""
    from hashlib import sha256
    from binascii import hexlify
    h = hexlify(sha256(bytes(public_key)).digest()[:16]).decode()
    return " ".join(h[i:i + 4] for i in range(0, 32, 4))
