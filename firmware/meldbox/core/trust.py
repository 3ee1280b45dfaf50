"""The issuer keys a device trusts (PROTOCOL.md section 1): per issuer one or more
Ed25519 public keys, each with an optional not-after time and a revoked flag.

The store persists a TrustStore as a plain list of dicts
{"iss": str, "key": bytes, "not_after": int or None, "revoked": bool} (CBOR on flash).
"""
from meldbox.core.cose import kid_of


class TrustedKey:
    __slots__ = ("iss", "public", "not_after", "revoked", "kid")

    def __init__(self, iss, public, not_after=None, revoked=False):
        # Bad provisioning data is our own misuse, not a peer's: ValueError.
        if not isinstance(iss, str) or not iss:
            raise ValueError("issuer id must be a non-empty text, got %r" % (iss,))
        if not isinstance(public, (bytes, bytearray)) or len(public) != 32:
            raise ValueError("key of %s must be 32 raw Ed25519 bytes" % iss)
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
