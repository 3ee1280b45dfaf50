"""The firmware's CoAP endpoint (meldbox/coap) under the real MicroPython unix port,
driven from CPython by aiocoap 0.4.17 and by raw UDP datagrams for what aiocoap will
not send (exact message ids, duplicates, malformed datagrams). Replies are decoded
with aiocoap's codec, independent of the firmware's.

The server is tests/mp/coap_test_server.py; its resources are described there.
"""

import asyncio
import hashlib
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiocoap
import aiocoap.resource
import cbor2
import pytest
from aiocoap.optiontypes import OpaqueOption, UintOption

from tests.host.e2e import free_port

ROOT = Path(__file__).resolve().parents[2]
MICROPYTHON = Path(sys.executable).with_name("micropython")
SERVER = Path(__file__).parents[1] / "mp" / "coap_test_server.py"
ANNOUNCE = b"meldbox-coap-test-server"
BURST = 200  # the server's rate limit: 200 requests at once per source address,
PER_S = 2  # then 2 per second
ACK_TIMEOUT_MS = 200  # the device's own CON requests retransmit after 200-300 ms
MAX_RETRANSMIT = 2

CON, NON, ACK, RST = 0, 1, 2, 3


class Server:
    def __init__(self, proc, addr):
        self.proc = proc
        self.addr = addr
        self.base = "coap://%s:%d" % addr

    def uri(self, path):
        return self.base + path


@pytest.fixture(scope="module")
def server():
    announce = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    announce.bind(("127.0.0.1", 0))
    announce.settimeout(30)
    # ".frozen" first: asyncio is frozen into the unix port.
    env = dict(os.environ, MICROPYPATH=os.pathsep.join([".frozen", str(ROOT / "firmware")]))
    proc = subprocess.Popen(
        [
            str(MICROPYTHON),
            "-X",
            "heapsize=256K",
            str(SERVER),
            str(announce.getsockname()[1]),
            "--rate",
            "%d,%d" % (BURST, PER_S),
            "--ack-timeout-ms",
            str(ACK_TIMEOUT_MS),
            "--max-retransmit",
            str(MAX_RETRANSMIT),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        data, addr = announce.recvfrom(100)
        assert data == ANNOUNCE
        yield Server(proc, addr)
        assert proc.poll() is None, "the server died:\n" + proc.stdout.read()
    finally:
        announce.close()
        proc.kill()
        proc.wait(10)


# --- raw datagrams -----------------------------------------------------------------------
def message(mtype, code, mid, token=b"", path=None, payload=b"", options=()):
    """A request encoded by aiocoap (a codec independent of the firmware's)."""
    m = aiocoap.Message(code=code, payload=payload)
    if path is not None:
        m.opt.uri_path = tuple(p for p in path.split("/") if p)
    for opt in options:
        m.opt.add_option(opt)
    m.mtype, m.mid, m.token = aiocoap.Type(mtype), mid, token
    return m.encode()


_next_host = [1]


class Peer:
    """A raw UDP socket on its own loopback address 127.0.0.N (N > 1): one CoAP peer with
    its own rate-limit bucket (counted per source address) and message ids."""

    def __init__(self, server):
        self.addr = server.addr
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        _next_host[0] = _next_host[0] % 250 + 1
        self.sock.bind(("127.0.0.%d" % (_next_host[0] + 1), 0))

    def send(self, data):
        self.sock.sendto(data, self.addr)

    def recv(self, timeout=2.0):
        """The next datagram (raw bytes), or None after timeout."""
        self.sock.settimeout(timeout)
        try:
            return self.sock.recv(65536)
        except TimeoutError:
            return None

    def exchange(self, data, timeout=2.0):
        self.send(data)
        raw = self.recv(timeout)
        assert raw is not None, "no answer"
        return aiocoap.Message.decode(raw)

    def close(self):
        self.sock.close()


@pytest.fixture
def peer(server):
    p = Peer(server)
    yield p
    p.close()


def problem_of(resp):
    assert resp.opt.content_format == 257, resp
    return cbor2.loads(resp.payload)


# --- aiocoap as the client ------------------------------------------------------------------
def with_client(fn):
    async def run():
        ctx = await aiocoap.Context.create_client_context()
        try:
            return await fn(ctx)
        finally:
            await ctx.shutdown()

    return asyncio.run(run())


def request(server, code, path, payload=b"", **opts):
    async def go(ctx):
        msg = aiocoap.Message(
            code=code,
            uri=server.uri(path),
            payload=payload,
            transport_tuning=aiocoap.Reliable,
            **opts,
        )
        return await ctx.request(msg).response

    return with_client(go)


# --- the server side -------------------------------------------------------------------------
def test_piggybacked_response_echoes_token_and_mid(peer):
    token = bytes.fromhex("0102030405060708")
    resp = peer.exchange(
        message(CON, aiocoap.POST, 0x4242, token, "/echo", b"abc", [UintOption(12, 18)])
    )
    assert resp.mtype == aiocoap.ACK and resp.mid == 0x4242 and resp.token == token
    assert resp.code == aiocoap.CHANGED and resp.opt.content_format == 50
    info = json.loads(resp.payload)
    assert (info["len"], info["cf"], info["method"]) == (3, 18, "POST")
    assert info["sha256"] == hashlib.sha256(b"abc").hexdigest()


def test_non_request_gets_non_response(peer):
    resp = peer.exchange(message(NON, aiocoap.GET, 0x0101, b"\x77\x66", "/count"))
    assert resp.mtype == aiocoap.NON and resp.token == b"\x77\x66"
    assert resp.code == aiocoap.CONTENT


def count(peer, mid):
    return int(peer.exchange(message(CON, aiocoap.GET, mid, b"c", "/count")).payload)


def test_duplicate_con_gets_identical_bytes_and_runs_once(peer):
    before = count(peer, 0x2000)
    req = message(CON, aiocoap.POST, 0x2001, b"dup", "/count")
    peer.send(req)
    first = peer.recv()
    peer.send(req)
    second = peer.recv()
    assert first is not None and first == second
    assert count(peer, 0x2002) == before + 1
    # The same message id with another token is still a duplicate (RFC 7252 4.5).
    peer.send(message(CON, aiocoap.POST, 0x2001, b"other", "/count"))
    assert peer.recv() == first
    assert count(peer, 0x2003) == before + 1


def test_duplicate_non_is_ignored(peer):
    before = count(peer, 0x2100)
    req = message(NON, aiocoap.POST, 0x2101, b"n", "/count")
    peer.send(req)
    assert aiocoap.Message.decode(peer.recv()).code == aiocoap.CHANGED
    peer.send(req)
    assert peer.recv(timeout=0.3) is None
    assert count(peer, 0x2102) == before + 1


def test_unknown_path_is_4_04_with_problem_details(server):
    resp = request(server, aiocoap.GET, "/nope")
    assert resp.code == aiocoap.NOT_FOUND
    assert problem_of(resp) == {-1: "Not Found", -2: "no resource at /nope"}


def test_wrong_method_is_4_05(server):
    assert request(server, aiocoap.DELETE, "/echo").code == aiocoap.METHOD_NOT_ALLOWED
    resp = request(server, aiocoap.POST, "/.well-known/core")
    assert resp.code == aiocoap.METHOD_NOT_ALLOWED
    assert problem_of(resp)[-1] == "Method Not Allowed"


def test_unknown_critical_option_is_4_02_and_elective_is_ignored(peer):
    resp = peer.exchange(
        message(CON, aiocoap.POST, 0x3001, b"o", "/echo", b"x", [OpaqueOption(9, b"?")])
    )
    assert resp.code == aiocoap.BAD_OPTION and resp.mid == 0x3001 and resp.token == b"o"
    assert problem_of(resp)[-1] == "Bad Option"
    resp = peer.exchange(
        message(CON, aiocoap.POST, 0x3002, b"o", "/echo", b"x", [OpaqueOption(10, b"?")])
    )
    assert resp.code == aiocoap.CHANGED


def test_proxy_uri_is_5_05(peer):
    resp = peer.exchange(
        message(
            CON, aiocoap.GET, 0x3003, b"p", None, b"", [OpaqueOption(35, b"coap://elsewhere/x")]
        )
    )
    assert resp.code == aiocoap.PROXYING_NOT_SUPPORTED


def test_block1_transfer_of_6_kib_by_aiocoap(server):
    body = os.urandom(6144)
    resp = request(server, aiocoap.POST, "/echo", body, content_format=18)
    assert resp.code == aiocoap.CHANGED
    info = json.loads(resp.payload)
    assert info["len"] == 6144 and info["cf"] == 18
    assert info["sha256"] == hashlib.sha256(body).hexdigest()


def test_block1_with_small_blocks_gets_2_31_per_block(peer):
    body = bytes(range(100))
    blocks = [body[i : i + 32] for i in range(0, len(body), 32)]  # SZX 1: 32 bytes
    for num, chunk in enumerate(blocks):
        more = num < len(blocks) - 1
        resp = peer.exchange(
            message(
                CON,
                aiocoap.POST,
                0x3100 + num,
                b"b",
                "/echo",
                chunk,
                [UintOption(27, num << 4 | (8 if more else 0) | 1)],
            )
        )
        assert resp.opt.block1 is not None
        assert (resp.opt.block1.block_number, resp.opt.block1.size_exponent) == (num, 1)
        if more:
            assert resp.code == aiocoap.CONTINUE and resp.opt.block1.more
    assert resp.code == aiocoap.CHANGED and not resp.opt.block1.more
    assert json.loads(resp.payload)["sha256"] == hashlib.sha256(body).hexdigest()


def test_block1_out_of_order_is_4_08(peer):
    resp = peer.exchange(
        message(
            CON, aiocoap.POST, 0x3200, b"b", "/echo", bytes(64), [UintOption(27, 0 << 4 | 8 | 2)]
        )
    )
    assert resp.code == aiocoap.CONTINUE
    resp = peer.exchange(
        message(
            CON, aiocoap.POST, 0x3201, b"b", "/echo", bytes(64), [UintOption(27, 2 << 4 | 8 | 2)]
        )
    )
    assert resp.code == aiocoap.REQUEST_ENTITY_INCOMPLETE
    assert problem_of(resp)[-1] == "Request Entity Incomplete"
    # The transfer is gone: its next block is out of order too.
    resp = peer.exchange(
        message(CON, aiocoap.POST, 0x3202, b"b", "/echo", bytes(64), [UintOption(27, 1 << 4 | 2)])
    )
    assert resp.code == aiocoap.REQUEST_ENTITY_INCOMPLETE


def test_8193_bytes_by_aiocoap_is_4_13_with_size1(server):
    resp = request(server, aiocoap.POST, "/echo", bytes(8193))
    assert resp.code == aiocoap.REQUEST_ENTITY_TOO_LARGE
    assert resp.opt.size1 == 8192


def test_single_datagram_of_8193_bytes_is_4_13_with_size1_and_block1_hint(peer):
    resp = peer.exchange(message(CON, aiocoap.POST, 0x3300, b"L", "/echo", bytes(8193)))
    assert resp.code == aiocoap.REQUEST_ENTITY_TOO_LARGE and resp.opt.size1 == 8192
    assert resp.mid == 0x3300 and resp.token == b"L"
    # RFC 7959 2.9.3: Block1 in the 4.13 says which block size to use instead.
    assert (resp.opt.block1.block_number, resp.opt.block1.size_exponent) == (0, 6)
    assert problem_of(resp)[-1] == "Request Entity Too Large"


def test_datagram_limit_is_1280_bytes(peer):
    # 4 header + 1 token + 5 Uri-Path "echo" + 1 marker = 11 bytes around the payload.
    resp = peer.exchange(message(CON, aiocoap.POST, 0x3301, b"L", "/echo", bytes(1269)))
    assert resp.code == aiocoap.CHANGED and json.loads(resp.payload)["len"] == 1269
    resp = peer.exchange(message(CON, aiocoap.POST, 0x3302, b"L", "/echo", bytes(1270)))
    assert resp.code == aiocoap.REQUEST_ENTITY_TOO_LARGE and resp.opt.size1 == 8192


MALFORMED = [
    # (name, datagram, RST expected for this message id or None)
    ("version 2", bytes([0x80, 0x01, 0x50, 0x01]), None),
    ("token length 9", bytes([0x49, 0x01, 0x50, 0x02]) + bytes(9), 0x5002),
    ("token length 15", bytes([0x4F, 0x01, 0x50, 0x03]) + bytes(15), 0x5003),
    ("option delta nibble 15", bytes([0x40, 0x01, 0x50, 0x04, 0xF1, 0x00]), 0x5004),
    ("option length nibble 15", bytes([0x40, 0x01, 0x50, 0x05, 0xBF, 0x00]), 0x5005),
    ("truncated option value", bytes([0x40, 0x01, 0x50, 0x06, 0xB4]) + b"ab", 0x5006),
    ("truncated extended delta", bytes([0x40, 0x01, 0x50, 0x07, 0xD0]), 0x5007),
    (
        "payload marker, no payload",
        bytes([0x40, 0x02, 0x50, 0x08, 0xB4]) + b"echo" + b"\xff",
        0x5008,
    ),
    ("empty message with a token", bytes([0x41, 0x00, 0x50, 0x09, 0x01]), 0x5009),
    ("NON with nibble 15", bytes([0x50, 0x01, 0x50, 0x0A, 0xF1, 0x00]), None),
    ("ACK with token length 9", bytes([0x69, 0x00, 0x50, 0x0B]) + bytes(9), None),
    ("three bytes", bytes([0x40, 0x01, 0x50]), None),
    ("empty datagram", b"", None),
]


@pytest.mark.parametrize("name,datagram,rst_mid", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_datagram_gets_rst_or_nothing_and_server_carries_on(
    peer, name, datagram, rst_mid
):
    peer.send(datagram)
    raw = peer.recv(timeout=0.3 if rst_mid is None else 2.0)
    if rst_mid is None:
        assert raw is None, "expected silence, got %r" % raw
    else:
        assert raw is not None, "no RST"
        rst = aiocoap.Message.decode(raw)
        assert rst.mtype == aiocoap.RST and rst.mid == rst_mid and rst.code == aiocoap.EMPTY
        assert rst.token == b"" and rst.payload == b""
    resp = peer.exchange(message(CON, aiocoap.GET, 0x5100, b"k", "/count"))
    assert resp.code == aiocoap.CONTENT


def test_ping_gets_rst(peer):
    rst = peer.exchange(bytes([0x40, 0x00, 0x12, 0x34]))
    assert rst.mtype == aiocoap.RST and rst.mid == 0x1234


def test_unknown_response_con_gets_rst_non_is_ignored(peer):
    rst = peer.exchange(bytes([0x41, 0x45, 0x60, 0x01, 0x99, 0xFF]) + b"x")
    assert rst.mtype == aiocoap.RST and rst.mid == 0x6001
    peer.send(bytes([0x51, 0x45, 0x60, 0x02, 0x99]))
    assert peer.recv(timeout=0.3) is None


def test_well_known_core_lists_resources_with_attributes(server):
    resp = request(server, aiocoap.GET, "/.well-known/core")
    assert resp.code == aiocoap.CONTENT and resp.opt.content_format == 40
    links = resp.payload.decode().split(",")
    assert "</echo>;ct=50" in links and "</count>;ct=0" in links and "</crash>" in links
    assert len(links) == 8


def test_slow_resource_empty_ack_then_separate_response(peer):
    token = b"slowtokn"
    ack = peer.exchange(message(CON, aiocoap.GET, 0x7001, token, "/slow"))
    assert ack.mtype == aiocoap.ACK and ack.mid == 0x7001 and ack.code == aiocoap.EMPTY
    assert ack.token == b"" and ack.payload == b""
    # A retransmission of the request meanwhile gets the empty ACK again.
    peer.send(message(CON, aiocoap.GET, 0x7001, token, "/slow"))
    assert aiocoap.Message.decode(peer.recv()).code == aiocoap.EMPTY
    resp = aiocoap.Message.decode(peer.recv(timeout=3))
    assert resp.mtype == aiocoap.CON and resp.token == token and resp.code == aiocoap.CONTENT
    assert resp.payload == b"slow done"
    # Not acknowledged yet: the device retransmits the same response.
    again = peer.recv(timeout=3)
    assert again is not None and aiocoap.Message.decode(again).mid == resp.mid
    peer.send(bytes([0x60, 0x00, resp.mid >> 8, resp.mid & 0xFF]))
    assert peer.recv(timeout=1.0) is None


def test_requests_beyond_max_inflight_get_5_03(peer):
    # One source address holds at most 3 of the 4 in-flight slots (the rest are 5.03).
    others = Peer(type("S", (), {"addr": peer.addr})())
    for i in range(5):
        peer.send(message(CON, aiocoap.GET, 0x7100 + i, bytes([i]), "/slow"))
    first = [aiocoap.Message.decode(peer.recv()) for _ in range(5)]
    eq_codes = sorted((m.mid, str(m.code)) for m in first)
    assert [c for _, c in eq_codes].count(str(aiocoap.EMPTY)) == 3, eq_codes
    busy = [m for m in first if m.code == aiocoap.SERVICE_UNAVAILABLE]
    assert len(busy) == 2 and all(b.opt.max_age == 1 and b.mtype == aiocoap.ACK for b in busy)
    # Another address gets the fourth slot, and then the endpoint is full.
    others.send(message(CON, aiocoap.GET, 0x7200, b"o1", "/slow"))
    others.send(message(CON, aiocoap.GET, 0x7201, b"o2", "/slow"))
    second = sorted(
        (m.mid, str(m.code)) for m in (aiocoap.Message.decode(others.recv()) for _ in range(2))
    )
    assert [c for _, c in second] == [str(aiocoap.EMPTY), str(aiocoap.SERVICE_UNAVAILABLE)]
    # The accepted ones are answered separately; acknowledge each.
    tokens = set()
    for p, n in ((peer, 3), (others, 1)):
        for _ in range(n):
            resp = aiocoap.Message.decode(p.recv(timeout=3))
            assert resp.mtype == aiocoap.CON and resp.code == aiocoap.CONTENT
            tokens.add(resp.token)
            p.send(bytes([0x60, 0x00, resp.mid >> 8, resp.mid & 0xFF]))
    assert tokens == ({bytes([i]) for i in range(5)} - {b.token for b in busy}) | {b"o1"}
    others.close()


def test_slow_resource_with_aiocoap(server):
    t0 = time.monotonic()
    resp = request(server, aiocoap.GET, "/slow")
    assert resp.code == aiocoap.CONTENT and resp.payload == b"slow done"
    assert time.monotonic() - t0 >= 0.3


def test_handler_errors_become_problem_details(server):
    resp = request(server, aiocoap.POST, "/forbidden")
    assert resp.code == aiocoap.FORBIDDEN
    assert problem_of(resp) == {-1: "Forbidden", -2: "aud names another device"}
    resp = request(server, aiocoap.POST, "/crash")
    assert resp.code == aiocoap.INTERNAL_SERVER_ERROR
    assert problem_of(resp)[-1] == "Internal Server Error"
    assert request(server, aiocoap.GET, "/count").code == aiocoap.CONTENT


def test_large_response_goes_block2(server):
    resp = request(server, aiocoap.GET, "/big")
    assert resp.code == aiocoap.CONTENT
    assert resp.payload == bytes(i * 7 & 0xFF for i in range(3000))


def test_rate_limit_is_4_29_with_max_age(peer):
    codes, max_ages = [], []
    for i in range(BURST + 15):
        peer.send(message(NON, aiocoap.GET, 0x8000 + i, b"r", "/count"))
    while True:
        raw = peer.recv(timeout=2)
        if raw is None:
            break
        resp = aiocoap.Message.decode(raw)
        codes.append(resp.code)
        if resp.code == aiocoap.TOO_MANY_REQUESTS:
            max_ages.append(resp.opt.max_age)
            assert problem_of(resp)[-1] == "Too Many Requests"
    served = codes.count(aiocoap.CONTENT)
    assert BURST <= served <= BURST + 2, codes
    # A 4.29 at most once a second; the rest of a flood is not answered at all.
    assert 1 <= len(max_ages) <= 2 and all(a >= 1 for a in max_ages), codes
    assert len(codes) == served + len(max_ages)
    # Another peer is not limited by this one.
    other = Peer(type("S", (), {"addr": peer.addr})())
    try:
        assert other.exchange(message(CON, aiocoap.GET, 1, b"", "/count")).code == aiocoap.CONTENT
    finally:
        other.close()


def test_if_none_match_is_4_12(peer):
    resp = peer.exchange(
        message(CON, aiocoap.POST, 0x9001, b"", "/echo", b"x", [OpaqueOption(5, b"")])
    )
    assert resp.code == aiocoap.PRECONDITION_FAILED


def test_server_bookkeeping_stays_bounded(server):
    resp = request(server, aiocoap.GET, "/stats")
    stats = json.loads(resp.payload)
    assert stats["dedup"] <= 16 and stats["reassembly"] <= 6 and stats["rate_peers"] <= 32
    assert stats["internal_errors"] == 0 and stats["inflight"] == 0


# --- the client side: the device's own CON requests ---------------------------------------------
class Hotline(aiocoap.resource.Resource):
    """The aiocoap server the device POSTs receipts to."""

    def __init__(self, delay=0.0):
        super().__init__()
        self.delay = delay
        self.got = []

    async def render_post(self, request):
        self.got.append((request.payload, request.opt.content_format))
        if self.delay:
            await asyncio.sleep(self.delay)
        return aiocoap.Message(code=aiocoap.CHANGED, payload=b"thanks:" + request.payload)


class LossyLink(asyncio.DatagramProtocol):
    """A UDP relay between the device and the hotline that drops the device's first
    `drop` datagrams (all of them with drop=None) and records every one it saw."""

    def __init__(self, upstream, drop):
        self.upstream = upstream
        self.drop = drop
        self.seen = []  # decoded datagrams from the device
        self.raw = []  # and as sent
        self.device = None
        self.up = None

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        self.device = addr
        self.seen.append(aiocoap.Message.decode(data))
        self.raw.append(data)
        if self.drop is None or self.drop > 0:
            if self.drop:
                self.drop -= 1
            return
        self.up.sendto(data)

    def back(self, data):
        self.transport.sendto(data, self.device)


class Up(asyncio.DatagramProtocol):
    def __init__(self, link):
        self.link = link

    def datagram_received(self, data, addr):
        self.link.back(data)


async def send_job(server, uri, payload_hex):
    """Have the device POST `payload_hex` (Content-Format 18) to `uri` (a job for the test
    server's /send) -> the device's report (see tests/mp/coap_test_server.py)."""
    job = {"uri": uri, "payload": payload_hex, "cf": 18}
    ctx = await aiocoap.Context.create_client_context()
    try:
        msg = aiocoap.Message(
            code=aiocoap.POST,
            uri=server.uri("/send"),
            payload=json.dumps(job).encode(),
            transport_tuning=aiocoap.Reliable,
        )
        return json.loads((await ctx.request(msg).response).payload)
    finally:
        await ctx.shutdown()


def free_udp_port():
    return free_port()  # below the ephemeral range (tests/host/e2e.py)


def device_sends(server, hotline, drop):
    """Have the device POST a receipt through a lossy link to an aiocoap hotline;
    returns (the device's report, the link that saw the device's datagrams)."""

    async def run():
        loop = asyncio.get_running_loop()
        site = aiocoap.resource.Site()
        site.add_resource(["receipts"], hotline)
        hport = free_udp_port()
        # UDP only: free_udp_port() probed UDP, and another test run may hold its TCP twin
        hctx = await aiocoap.Context.create_server_context(
            site, bind=("127.0.0.1", hport), transports=["udp6"]
        )
        link = LossyLink(None, drop)
        ltr, _ = await loop.create_datagram_endpoint(lambda: link, local_addr=("127.0.0.1", 0))
        utr, _ = await loop.create_datagram_endpoint(
            lambda: Up(link), remote_addr=("127.0.0.1", hport)
        )
        link.up = utr
        uri = "coap://127.0.0.1:%d/receipts" % ltr.get_extra_info("sockname")[1]
        try:
            report = await send_job(server, uri, b"receipt-7".hex())
            await asyncio.sleep(0.1)  # let a last ACK from the device reach the link
            return report, link
        finally:
            await hctx.shutdown()
            ltr.close()
            utr.close()

    return asyncio.run(run())


def test_client_retransmits_until_the_hotline_answers(server):
    hotline = Hotline()
    report, link = device_sends(server, hotline, drop=2)
    assert report["code"] == 0x44 and bytes.fromhex(report["payload"]) == b"thanks:receipt-7"
    assert report["retransmissions"] == 2 and report["pending"] == 0
    requests = [m for m in link.seen if m.code == aiocoap.POST]
    assert len(requests) == 3
    assert len(set(link.raw[:3])) == 1  # the same message id, token and bytes
    assert requests[0].mtype == aiocoap.CON and requests[0].opt.uri_path == ("receipts",)
    assert hotline.got == [(b"receipt-7", 18)]
    # Timeouts double: at least 200 + 400 ms passed before the third transmission.
    assert report["elapsed_ms"] >= 3 * ACK_TIMEOUT_MS


def test_client_takes_separate_response_and_acks_it(server):
    hotline = Hotline(delay=0.4)  # aiocoap sends an empty ACK after 0.1 s, then a CON
    report, link = device_sends(server, hotline, drop=0)
    assert report["code"] == 0x44 and bytes.fromhex(report["payload"]) == b"thanks:receipt-7"
    acks = [m for m in link.seen if m.mtype == aiocoap.ACK]
    assert len(acks) >= 1 and acks[0].code == aiocoap.EMPTY
    assert report["retransmissions"] == 0 and report["pending"] == 0


def test_client_gives_up_after_max_retransmit(server):
    report, link = device_sends(server, Hotline(), drop=None)
    assert report["error"] == "timeout" and report["pending"] == 0
    assert (
        len(link.seen) == 1 + MAX_RETRANSMIT
        and len(set(link.raw)) == 1
        and report["retransmissions"] == MAX_RETRANSMIT
    )
    # ACK_TIMEOUT * (1 + 2 + 4) at the least, * 1.5 at the most (plus scheduling).
    assert 7 * ACK_TIMEOUT_MS <= report["elapsed_ms"] <= 7 * ACK_TIMEOUT_MS * 1.5 + 500


def test_client_reset_is_an_error(server):
    async def run():
        loop = asyncio.get_running_loop()

        class Resetter(asyncio.DatagramProtocol):
            def connection_made(self, transport):
                self.transport = transport

            def datagram_received(self, data, addr):
                mid = aiocoap.Message.decode(data).mid
                self.transport.sendto(bytes([0x70, 0x00, mid >> 8, mid & 0xFF]), addr)

        tr, _ = await loop.create_datagram_endpoint(Resetter, local_addr=("127.0.0.1", 0))
        uri = "coap://127.0.0.1:%d/receipts" % tr.get_extra_info("sockname")[1]
        try:
            return await send_job(server, uri, "00")
        finally:
            tr.close()

    report = asyncio.run(run())
    assert report["error"] == "reset" and report["retransmissions"] == 0 and report["pending"] == 0


# --- the codec against aiocoap's, on CPython ----------------------------------------------------
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

sys.path.insert(0, str(ROOT / "firmware"))
from meldbox.coap import message as fw  # noqa: E402

# Option numbers aiocoap keeps as opaque bytes (no type of its own), incl. the 12/13 and
# 268/269 boundaries of the delta encoding. Option numbers are 16 bits (RFC 7252 12.2): the
# delta encoding could reach 65804, but no option has such a number, and aiocoap refuses it.
_KNOWN = {o.value for o in aiocoap.OptionNumber} | set(fw.OPTION)
OPAQUE_NUMBERS = st.one_of(
    st.sampled_from([n for n in (2, 13, 18, 268, 269, 270, 2048, 65000) if n not in _KNOWN]),
    st.integers(0, 0xFFFF).filter(lambda n: n not in _KNOWN),
)
MESSAGES = st.tuples(
    st.integers(0, 3),
    st.integers(1, 255),
    st.integers(0, 0xFFFF),
    st.binary(max_size=8),
    st.lists(st.tuples(OPAQUE_NUMBERS, st.binary(max_size=300)), max_size=6),
    st.binary(max_size=40),
)


@settings(max_examples=100, deadline=None)
@given(MESSAGES)
def test_firmware_encoding_decodes_in_aiocoap(parts):
    mtype, code, mid, token, options, payload = parts
    msg = fw.Message(mtype, code, mid, token)
    for number, value in options:
        msg.add(number, value)
    msg.payload = payload
    theirs = aiocoap.Message.decode(msg.encode())
    assert (theirs.mtype, theirs.code, theirs.mid, theirs.token) == (mtype, code, mid, token)
    assert [(o.number, o.value) for o in theirs.opt.option_list()] == sorted(
        options, key=lambda o: o[0]
    )  # Python's sort is stable, like the codec
    assert theirs.payload == payload


@settings(max_examples=100, deadline=None)
@given(MESSAGES)
def test_aiocoap_encoding_decodes_in_firmware(parts):
    mtype, code, mid, token, options, payload = parts
    theirs = aiocoap.Message(code=code, payload=payload)
    for number, value in options:
        theirs.opt.add_option(OpaqueOption(number, value))
    theirs.mtype, theirs.mid, theirs.token = aiocoap.Type(mtype), mid, token
    wire = theirs.encode()
    ours = fw.decode(wire)
    assert (ours.mtype, ours.code, ours.mid, ours.token) == (mtype, code, mid, token)
    assert ours.options == [(o.number, o.value) for o in theirs.opt.option_list()]
    assert bytes(ours.payload) == payload
    assert ours.encode() == wire
