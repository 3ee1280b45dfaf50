"""The panel's rejected list under a flood of forged messages (issue 10): a claimed
issuer is shown only when a trusted key signed the message, and one source address
cannot push the others' entries out."""
from mptest import eq  # noqa: I001
from meldbox.app.rejected import MAX_REJECTED, PER_SOURCE, PER_SOURCE_S, Rejected
from meldbox.core import errors


def unauthenticated():
    return errors.Unauthorized("bad-signature", "signature does not verify with key 0011")


def authenticated():
    e = errors.Forbidden("wrong-device", "aud x is not this device")
    e.authenticated = True
    return e


def test_a_claimed_issuer_is_kept_only_when_a_trusted_key_signed_it():
    r = Rejected()
    r.add(100, "nl.eokm", unauthenticated(), "10.0.0.1")
    r.add(101, "nl.eokm", authenticated(), "10.0.0.2")
    eq([e[1] for e in r.entries], ["nl.eokm", None])


def test_one_source_cannot_flood_the_list():
    r = Rejected()
    r.add(50, "nl.a", authenticated(), ("10.0.0.9", 1))
    for i in range(100):                         # many ports, one address
        r.add(100 + i % 10, None, unauthenticated(), ("10.6.6.6", 1000 + i))
    eq(len([e for e in r.entries if e[1] == "nl.a"]), 1)
    eq(len(r.entries), 1 + PER_SOURCE)
    eq(r.dropped, 100 - PER_SOURCE)
    r.add(100 + PER_SOURCE_S, None, unauthenticated(), ("10.6.6.6", 1))   # next window
    eq(len(r.entries), 2 + PER_SOURCE)
    assert len(r.entries) <= MAX_REJECTED


def test_the_source_table_is_bounded():
    r = Rejected()
    for i in range(200):
        r.add(100, None, unauthenticated(), ("10.1.%d.%d" % (i // 256, i % 256), 1))
    assert len(r.sources) <= 16
    eq(len(r.entries), MAX_REJECTED)
