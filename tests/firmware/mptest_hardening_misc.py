"""Hardening on MicroPython (issue 10): small-order issuer keys are refused, the device's
request tokens are unpredictable, rate limits count per source address."""
import sys

if ".frozen" not in sys.path:
    sys.path.append(".frozen")

from binascii import hexlify, unhexlify  # noqa: F401, I001

from mptest import eq, raises
from meldbox.coap.client import Client
from meldbox.coap.messagelayer import RateLimiter
from meldbox.core.trust import TrustedKey, TrustStore, small_order
from meldbox.provision import request

P = 2 ** 255 - 19
SMALL_ORDER = [
    "0100000000000000000000000000000000000000000000000000000000000000",   # identity
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",   # order 2
    "0000000000000000000000000000000000000000000000000000000000000000",   # order 4
    "0000000000000000000000000000000000000000000000000000000000000080",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",   # order 8
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",   # p: 0, non-canonical
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",   # p + 1: identity
]
GOOD = "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c"


class Clock:
    def __init__(self):
        self.now = 1000

    def __call__(self):
        return self.now


def test_small_order_keys_are_refused_by_provisioning_and_never_trusted():
    for key in SMALL_ORDER:
        assert small_order(unhexlify(key)), key
        e = raises(request.RequestError, request.parse,
                   {"op": "provision", "trust": [{"iss": "nl.x", "key": key}]})
        assert "small-order" in e.detail, e.detail
        raises(ValueError, TrustedKey, "nl.x", unhexlify(key))
    assert not small_order(unhexlify(GOOD))
    store = TrustStore.from_list([{"iss": "a", "key": unhexlify(SMALL_ORDER[0])},
                                  {"iss": "b", "key": unhexlify(GOOD)}])
    eq([k.iss for k in store], ["b"])


def test_request_tokens_are_random_per_request():
    c = Client(lambda data, peer: None)
    tokens = [c.next_token() for _ in range(50)]
    eq(len(set(tokens)), 50)
    assert all(len(t) == 8 for t in tokens)
    steps = set(int.from_bytes(b, "big") - int.from_bytes(a, "big")
                for a, b in zip(tokens, tokens[1:]))
    assert len(steps) > 40, "tokens follow a pattern"


def _sockaddr(ip, port):
    return bytes((2, 0, port >> 8, port & 0xFF)) + bytes(ip) + bytes(8)


def test_rate_limit_counts_per_address_across_ports():
    rate = RateLimiter(Clock(), burst=5, per_s=1, peers=8)
    eq([rate.take(_sockaddr((10, 0, 0, 1), 1000 + i)) for i in range(6)], [0] * 5 + [1])
    eq(rate.take(_sockaddr((10, 0, 0, 2), 1000)), 0)
    eq(rate.take(("10.0.0.1", 5)), 0)         # lwIP's (address, port) form
    eq([rate.take(("10.0.0.1", p)) for p in range(5)], [0] * 4 + [1])


def test_a_full_table_gives_strangers_one_shared_allowance():
    clock = Clock()
    rate = RateLimiter(clock, burst=3, per_s=1, peers=4)
    for i in range(4):
        rate.take(_sockaddr((10, 0, 0, i), 1))
    got = [rate.take(_sockaddr((10, 1, i // 256, i % 256), 1)) for i in range(50)]
    eq(got.count(0), 3)
    assert len(rate.table) <= 5


def test_a_refused_peer_is_told_at_most_once_a_second():
    clock = Clock()
    rate = RateLimiter(clock, burst=1, per_s=1)
    rate.take("p")
    eq([rate.tell("p") for _ in range(3)], [True, False, False])
    clock.now += 1000
    eq(rate.tell("p"), True)
