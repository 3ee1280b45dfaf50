"""Attacks on the device's clock by signed messages (issue 10): a huge or far-future
`iat` from one trusted issuer must neither brick the device nor expire another issuer's
key. Raw UDP and hand-made COSE (tests/host/attacker.py)."""

import time

from tests.host.attacker import Issuer, Peer
from tests.host.simdevice import SimDevice

DEV = "nl.hoster-a.desk-1"
STEP_S = 3600  # firmware app/clock.py: one issuer moves the clock at most this far


def start(tmp_path, *flags):
    dev = SimDevice(tmp_path / "dev", "--device-id", DEV, "--rtc-untrusted", *flags)
    dev.start()
    return dev


def test_a_huge_iat_is_refused_and_the_device_keeps_working_across_a_reboot(tmp_path):
    a = Issuer("nl.rogue")
    dev = start(tmp_path, "--trust", a.trust_flag())
    try:
        peer = Peer(dev.udp)
        for iat in (2**64 - 1, int(time.time()) * 1000):  # near 2^64; milliseconds
            reply = peer.post(a.sign(a.claims("ping", DEV, iat=iat)))
            assert reply.code_text == "4.00", reply.code_text
            assert "iat" in reply.problem()[-2]
        for key, value in (("due", 2**64 - 1), ("preserve", 2**63)):
            claims = a.claims("notice", DEV, within=None if key == "due" else 3600)
            claims[key] = value
            reply = peer.post(a.sign(claims))
            assert reply.code_text == "4.00" and key in reply.problem()[-2]
        reply = peer.post(a.sign(a.claims("notice", DEV, within=3600)))
        assert reply.code_text == "2.01", reply.code_text
        assert reply.receipt()["at"] <= time.time() + 5
        dev.stop()
        dev.start()
        peer.target = dev.udp
        reply = peer.post(a.sign(a.claims("notice", DEV, within=60)))
        assert reply.code_text == "2.01", reply.code_text
        assert reply.receipt()["seq"] == 2
        peer.close()
    finally:
        dev.stop()


def test_one_issuer_cannot_move_the_clock_past_another_issuers_key(tmp_path):
    rogue, other = Issuer("nl.rogue"), Issuer("nl.other")
    not_after = int(time.time()) + 2 * 86400
    dev = start(
        tmp_path, "--trust", rogue.trust_flag(), "--trust", other.trust_flag(not_after=not_after)
    )
    try:
        peer = Peer(dev.udp)
        first = peer.post(rogue.sign(rogue.claims("ping", DEV)))
        assert first.code_text == "2.04"
        # Thirty days ahead, then a week: accepted as pings, but the clock moves at most
        # one step on one issuer's word and never past the other issuer's not-after.
        for ahead in (30 * 86400, 7 * 86400, 3 * 86400):
            reply = peer.post(rogue.sign(rogue.claims("ping", DEV, iat=int(time.time()) + ahead)))
            assert reply.code_text == "2.04"
            assert reply.receipt()["at"] <= time.time() + STEP_S + 60, reply.receipt()
        reply = peer.post(other.sign(other.claims("notice", DEV)))
        assert reply.code_text == "2.01", (reply.code_text, reply.payload)
        peer.close()
    finally:
        dev.stop()


def test_two_issuers_that_agree_move_the_clock(tmp_path):
    a, b = Issuer("nl.a"), Issuer("nl.b")
    dev = start(tmp_path, "--trust", a.trust_flag(), "--trust", b.trust_flag())
    try:
        peer = Peer(dev.udp)
        assert peer.post(a.sign(a.claims("ping", DEV))).code_text == "2.04"
        ahead = int(time.time()) + 86400
        first = peer.post(a.sign(a.claims("ping", DEV, iat=ahead)))
        assert first.receipt()["at"] < ahead - STEP_S // 2
        second = peer.post(b.sign(b.claims("ping", DEV, iat=ahead + 30)))
        assert second.receipt()["at"] >= ahead
        peer.close()
    finally:
        dev.stop()
