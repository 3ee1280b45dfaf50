"""Shared pieces of the ledger, report and dashboard tests: a device that signs real
receipt chains with a known key (no simulator needed), a hotline that signs notices,
and the ledger backends (SQLite in tmp_path; PostgreSQL from a throwaway server)."""

import itertools

import pytest

from meldbox_host import protocol
from meldbox_host.ledger import open_ledger
from meldbox_host.ledger.pgtemp import TempPostgres

_db_names = itertools.count(1)


class FakeChainDevice:
    """Makes the receipts a device `dev` would: signed with its key, chained by seq/prev."""

    def __init__(self, dev="nl.hoster-a.desk-1", seed=None):
        self.dev = dev
        self.seed = seed or protocol.seed_of(protocol.HotlineKey.generate("x"))
        self.pub = protocol.public_bytes(protocol.private_key_of(self.seed))
        self.seq = 0
        self.prev = protocol.ZERO_HASH
        self.made = []

    def receipt(self, kind, message=None, at=1800000000, clock="ntp", **extra):
        """The next chained receipt -> its COSE bytes. `message`: (claims, cose) answered."""
        self.seq += 1
        claims = {
            "v": 1,
            "t": "receipt",
            "dev": self.dev,
            "seq": self.seq,
            "prev": self.prev,
            "kind": kind,
            "at": at,
            "clock": clock,
        }
        if message is not None:
            msg_claims, msg_cose = message
            claims.update(
                iss=msg_claims["iss"], nid=msg_claims["id"], nh=protocol.notice_hash(msg_cose)
            )
        claims.update(extra)
        cose = protocol.sign(claims, self.seed)
        self.prev = protocol.chain_hash(cose)
        self.made.append(cose)
        return cose

    def checkpoint(self, pseq, ph, at=1800000000):
        return self.receipt("checkpoint", None, at=at, pseq=pseq, ph=ph)


class FakeHotline:
    def __init__(self, iss="nl.eokm"):
        self.key = protocol.HotlineKey.generate(iss)
        self.iss = iss

    def notice(self, aud, iat=1800000000, **kw):
        claims = protocol.build_notice(
            self.iss, aud, ["https://x.example/%s" % next(_db_names)], iat=iat, **kw
        )
        return claims, protocol.sign(claims, self.key.private_key)

    def withdraw(self, aud, notice_id, iat=1800000000):
        claims = protocol.build_withdraw(self.iss, aud, notice_id, iat=iat)
        return claims, protocol.sign(claims, self.key.private_key)


@pytest.fixture(scope="session")
def postgres_server():
    with TempPostgres() as pg:
        yield pg


BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture
def ledger_target(request, tmp_path):
    """A fresh, empty ledger location for the backend named by the test's parameter."""
    if request.param == "sqlite":
        return str(tmp_path / "ledger.sqlite")
    pg = request.getfixturevalue("postgres_server")
    return pg.new_database("ledger_%d" % next(_db_names))


def opened(target, clock=None):
    return open_ledger(target, clock)
