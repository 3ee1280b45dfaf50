"""Amplification and rate-limit evasion (issue 10): an 11-byte GET /status from a spoofable
address gets an answer no larger than itself until it proves its address with RFC 9175
Echo; new source ports and duplicate message ids buy no fresh allowance."""

import time

from tests.host.attacker import CON, GET, Peer, Reply, coap, request
from tests.host.simdevice import SimDevice

DEV = "nl.hoster-a.desk-1"
ECHO = 252
RATE_BURST = 100  # firmware coap/__init__.py, per source address


def start(tmp_path):
    dev = SimDevice(tmp_path / "dev", "--device-id", DEV)
    dev.start()
    return dev


def test_status_does_not_amplify_until_the_requester_echoes(tmp_path):
    dev = start(tmp_path)
    try:
        peer = Peer(dev.udp)
        first = request(GET, "/status", peer.next_mid())
        assert len(first) == 11
        reply = peer.exchange(first)
        assert reply.code_text == "4.01" and len(reply.raw) <= len(first), reply.raw
        echo = reply.option(ECHO)
        assert echo and len(echo) >= 5
        again = request(GET, "/status", peer.next_mid(), extra=[(ECHO, echo)])
        full = peer.exchange(again)
        assert full.code_text == "2.05" and full.receipt()["kind"] == "status"
        # A wrong or another address's Echo is no proof.
        other = Peer(dev.udp, "127.0.0.5")
        stolen = other.exchange(request(GET, "/status", other.next_mid(), extra=[(ECHO, echo)]))
        assert stolen.code_text == "4.01"
        # The signed answer is cached: the next one is the same bytes, no new signature.
        twice = peer.exchange(request(GET, "/status", peer.next_mid(), extra=[(ECHO, echo)]))
        assert twice.payload == full.payload
        peer.close()
        other.close()
    finally:
        dev.stop()


def test_new_ports_and_duplicates_buy_no_fresh_allowance(tmp_path):
    dev = start(tmp_path)
    try:
        wkc = [(11, b".well-known"), (11, b"core")]
        # Duplicates of one message id: each costs a token too.
        dup = Peer(dev.udp, "127.0.0.3")
        datagram = coap(CON, GET, 7, b"d", wkc)
        for _ in range(RATE_BURST + 50):
            dup.send(datagram)
        seen = []
        while True:
            raw = dup.recv(1.0)
            if raw is None:
                break
            seen.append(Reply(raw).code_text)
        assert "4.29" in seen, seen[-5:]
        # Every request from a fresh port of one address: one bucket for all of them.
        codes = []
        peers = [Peer(dev.udp, "127.0.0.4") for _ in range(RATE_BURST + 60)]
        for p in peers:
            p.send(coap(CON, GET, p.next_mid(), b"p", wkc))
        deadline = time.monotonic() + 5
        for p in peers:
            raw = p.recv(max(0.01, deadline - time.monotonic()))
            if raw is not None:
                codes.append(Reply(raw).code_text)
            p.close()
        assert codes.count("2.05") <= RATE_BURST + 10, codes.count("2.05")
        assert "4.29" in codes
        # Another address is not limited by these.
        fresh = Peer(dev.udp, "127.0.0.6")
        assert fresh.exchange(coap(CON, GET, 1, b"", wkc)).code_text == "2.05"
        dup.close()
        fresh.close()
    finally:
        dev.stop()


def test_bad_signatures_buy_no_more_than_a_few_verifies_per_address(tmp_path):
    from tests.host.attacker import Issuer

    keys = [Issuer("nl.k%d" % i) for i in range(3)]
    flags = ["--device-id", DEV]
    for k in keys:
        flags += ["--trust", k.trust_flag()]
    dev = SimDevice(tmp_path / "dev", *flags)
    dev.start()
    try:
        attacker = Peer(dev.udp, "127.0.0.8")
        codes = []
        for i in range(12):
            k = keys[i % 3]  # rotating kids, all trusted
            forged = bytearray(k.sign(k.claims("notice", DEV)))
            forged[-1] ^= 1
            codes.append(attacker.post(bytes(forged)).code_text)
        assert codes[:5] == ["4.01"] * 5, codes
        assert codes[5:].count("4.29") >= 5, codes
        genuine = Peer(dev.udp)
        assert genuine.post(keys[0].sign(keys[0].claims("notice", DEV))).code_text == "2.01"
        attacker.close()
        genuine.close()
    finally:
        dev.stop()
