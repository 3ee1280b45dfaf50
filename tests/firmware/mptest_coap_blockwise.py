"""Block1 reassembly (meldbox/coap/blockwise.py) and the endpoint's message-layer
state (duplicate detection, rate limit) on MicroPython, with a test clock so that
lifetimes of minutes pass at once; plus the endpoint over an in-memory transport."""
import sys

# asyncio is frozen into the unix port; keep it importable whatever MICROPYPATH says.
if ".frozen" not in sys.path:
    sys.path.append(".frozen")

import asyncio  # noqa: I001

from mptest import eq, refused
from meldbox.coap import MAX_BODY, REASSEMBLY_IDLE_MS
from meldbox.coap import message as m
from meldbox.coap.blockwise import Reassembler
from meldbox.coap.endpoint import Endpoint
from meldbox.coap.messagelayer import Dedup, RateLimiter
from meldbox.coap.resource import Response, problem
from meldbox.core import errors


class Clock:
    def __init__(self):
        self.now = 1000

    def __call__(self):
        return self.now


def blocks(data, szx):
    size = 1 << (szx + 4)
    chunks = [data[i:i + size] for i in range(0, len(data), size)] or [b""]
    return [(m.block_value(n, n < len(chunks) - 1, szx), c) for n, c in enumerate(chunks)]


# --- reassembly ----------------------------------------------------------------------------------
def test_in_order_blocks_make_the_body():
    data = bytes(range(256)) * 10 + b"tail"
    for szx in range(7):
        r = Reassembler(Clock())
        results = [r.feed("k", "p", value, chunk) for value, chunk in blocks(data, szx)]
        assert all(x is None for x in results[:-1])
        eq(bytes(results[-1]), data)
        eq(len(r), 0)


def test_reserved_buffer_goes_to_a_body_that_outgrows_one_block():
    data = bytes(range(256)) * 12
    r = Reassembler(Clock())
    parts = blocks(data, 6)
    for value, chunk in parts[:-1]:
        eq(r.feed("k", "p", value, chunk, 3072), None)
    pooled = r.feed("k", "p", parts[-1][0], parts[-1][1])
    # the body lands in the buffer reserved at boot: a view of it
    assert isinstance(pooled, memoryview)
    eq(bytes(pooled), data)
    # while its handler holds it, the next transfer grows on the heap
    for value, chunk in parts[:-1]:
        eq(r.feed("k2", "p", value, chunk, 3072), None)
    body = r.feed("k2", "p", parts[-1][0], parts[-1][1])
    assert isinstance(body, bytearray)
    eq(bytes(body), data)
    eq(bytes(pooled), data, "the lent buffer was not reused while lent")
    r.release(pooled)
    # Size1 alone does not get the reserved buffer: a body of one block stays small.
    r.feed("k", "p", m.block_value(0, True, 4), bytes(256), 8192)
    eq(r.holder, None)
    again = r.feed("k", "p", m.block_value(1, False, 4), b"end")
    eq(bytes(again), bytes(256) + b"end")
    eq(len(r.slots[0].body) if r.slots else 0, 0)


def test_block_out_of_order_is_4_08_and_ends_the_transfer():
    r = Reassembler(Clock())
    r.feed("k", "p", m.block_value(0, True, 2), bytes(64))
    err = refused("block-incomplete", r.feed, "k", "p", m.block_value(2, True, 2), bytes(64))
    eq(err.code, errors.REQUEST_ENTITY_INCOMPLETE)
    refused("block-incomplete", r.feed, "k", "p", m.block_value(1, True, 2), bytes(64))
    eq(len(r), 0)


def test_repeated_block_is_out_of_order():
    r = Reassembler(Clock())
    r.feed("k", "p", m.block_value(0, True, 2), bytes(64))
    r.feed("k", "p", m.block_value(1, True, 2), bytes(64))
    refused("block-incomplete", r.feed, "k", "p", m.block_value(1, True, 2), bytes(64))


def test_continuation_without_start_is_4_08():
    refused("block-incomplete", Reassembler(Clock()).feed, "k", "p", m.block_value(1, False, 2),
            b"x")


def test_smaller_blocks_midway_keep_the_offsets():
    data = bytes(range(200)) * 10
    r = Reassembler(Clock())
    eq(r.feed("k", "p", m.block_value(0, True, 6), data[:1024]), None)
    # Switch to 512-byte blocks: the next block is number 2 of that size.
    eq(r.feed("k", "p", m.block_value(2, True, 5), data[1024:1536]), None)
    eq(bytes(r.feed("k", "p", m.block_value(3, False, 5), data[1536:])), data)


def test_bad_blocks_are_4_00():
    r = Reassembler(Clock())
    err = refused("bad-block", r.feed, "k", "p", m.block_value(0, True, 7), bytes(1024))
    eq(err.code, errors.BAD_REQUEST)
    refused("bad-block", r.feed, "k", "p", m.block_value(0, True, 2), bytes(63))   # M set, short
    refused("bad-block", r.feed, "k", "p", m.block_value(0, False, 2), bytes(65))  # above SZX


def test_body_beyond_8192_is_4_13_with_size1():
    r = Reassembler(Clock())
    parts = blocks(bytes(MAX_BODY + 1), 6)
    for value, chunk in parts[:-1]:
        r.feed("k", "p", value, chunk)
    err = refused("too-large", r.feed, "k", "p", parts[-1][0], parts[-1][1])
    eq((err.code, err.size1), (errors.REQUEST_ENTITY_TOO_LARGE, 8192))
    eq(len(r), 0)
    # Exactly 8192 is fine.
    parts = blocks(bytes(MAX_BODY), 6)
    for value, chunk in parts:
        body = r.feed("k", "p", value, chunk)
    eq(len(body), MAX_BODY)


def test_size1_announcing_too_much_is_4_13_up_front():
    r = Reassembler(Clock())
    err = refused("too-large", r.feed, "k", "p", m.block_value(0, True, 6), bytes(1024), 8193)
    eq(err.size1, 8192)
    eq(len(r), 0)


def test_block_zero_restarts_a_transfer():
    r = Reassembler(Clock())
    r.feed("k", "p", m.block_value(0, True, 2), b"a" * 64)
    r.feed("k", "p", m.block_value(0, True, 2), b"b" * 64)
    eq(bytes(r.feed("k", "p", m.block_value(1, False, 2), b"c")), b"b" * 64 + b"c")


def test_slots_are_bounded_per_source_address_and_in_total():
    clock = Clock()
    r = Reassembler(clock, slots=3, slots_per_peer=2)
    start = m.block_value(0, True, 2)
    # Peers as the unix port gives them: raw sockaddrs, counted by address, not port.
    a1, a2, a3 = (b"\x02\x00" + bytes([0, p]) + bytes([10, 0, 0, 1]) for p in (1, 2, 3))
    r.feed("a1", a1, start, bytes(64))
    clock.now += 10
    r.feed("a2", a2, start, bytes(64))
    clock.now += 10
    r.feed("a3", a3, start, bytes(64))     # the address's oldest (a1) makes room
    eq(sorted(s.key for s in r.slots), ["a2", "a3"])
    refused("block-incomplete", r.feed, "a1", a1, m.block_value(1, True, 2), bytes(64))
    clock.now += 10
    r.feed("b1", "B", start, bytes(64))
    clock.now += 10
    r.feed("a2", a2, m.block_value(1, True, 2), bytes(64))     # progress
    r.feed("c1", "C", start, bytes(64))    # full: the least recently progressed goes (a3)
    eq(sorted(s.key for s in r.slots), ["a2", "b1", "c1"])


def test_a_repeated_block_zero_keeps_nothing_alive():
    clock = Clock()
    r = Reassembler(clock, slots=2)
    start = m.block_value(0, True, 2)
    r.feed("x", "X", start, bytes(64))
    r.feed("g", "G", start, bytes(64))
    for _ in range(5):                       # X repeats its block 0 ...
        clock.now += 1000
        r.feed("x", "X", start, bytes(64))
        r.feed("g", "G", m.block_value(len(r._find("g").body) // 64, True, 2), bytes(64))
    r.feed("n", "N", start, bytes(64))      # ... and is still the least recent: it goes
    eq(sorted(s.key for s in r.slots), ["g", "n"])
    clock.now += REASSEMBLY_IDLE_MS
    r.feed("x", "X", start, bytes(64))      # idle ones expired meanwhile
    eq(sorted(s.key for s in r.slots), ["x"])


def test_a_stalled_holder_loses_the_reserved_buffer_to_a_progressing_transfer():
    clock = Clock()
    r = Reassembler(clock)
    data = bytes(range(256)) * 16
    for value, chunk in blocks(data, 6)[:2]:
        r.feed("stall", "S", value, chunk)
    assert r.holder is r._find("stall")
    clock.now += 5000
    parts = blocks(data[:2048], 6)
    r.feed("g", "G", parts[0][0], parts[0][1])
    body = r.feed("g", "G", parts[1][0], parts[1][1])
    assert isinstance(body, memoryview)      # it got the reserved buffer
    refused("block-incomplete", r.feed, "stall", "S", m.block_value(2, True, 6), bytes(1024))


def test_idle_transfers_expire():
    clock = Clock()
    r = Reassembler(clock, slots=2)
    r.feed("k", "A", m.block_value(0, True, 2), bytes(64))
    clock.now += REASSEMBLY_IDLE_MS - 1
    r.feed("k", "A", m.block_value(1, True, 2), bytes(64))     # each block renews
    clock.now += REASSEMBLY_IDLE_MS - 1
    r.feed("k", "A", m.block_value(2, True, 2), bytes(64))
    clock.now += REASSEMBLY_IDLE_MS
    refused("block-incomplete", r.feed, "k", "A", m.block_value(3, True, 2), bytes(64))
    eq(len(r), 0)


# --- duplicate detection and rate limit --------------------------------------------------------------  # noqa: E501
def test_dedup_remembers_replies_until_their_lifetime_ends():
    clock = Clock()
    d = Dedup(clock, size=4)
    eq(d.lookup(("p", 1)), None)
    d.add(("p", 1), 247000)
    eq(d.lookup(("p", 1)), (1000 + 247000, None))
    d.answer(("p", 1), b"reply")
    eq(d.lookup(("p", 1))[1], b"reply")
    eq(d.lookup(("q", 1)), None)         # another peer, same id: another message
    clock.now += 246999
    eq(d.lookup(("p", 1))[1], b"reply")
    clock.now += 1
    eq(d.lookup(("p", 1)), None)
    eq(len(d), 0)


def test_dedup_is_bounded_oldest_first():
    clock = Clock()
    d = Dedup(clock, size=4)
    for mid in range(10):
        d.add(("p", mid), 247000)
        assert len(d) <= 4
    eq([d.lookup(("p", mid)) is not None for mid in range(10)], [False] * 6 + [True] * 4)


def test_dedup_keeps_replies_within_its_byte_budget():
    clock = Clock()
    d = Dedup(clock, size=8, reply_bytes=1000)
    for mid in range(5):
        d.add(("p", mid), 247000)
        d.answer(("p", mid), bytes([mid]) * 300)
        assert d.kept <= 1000, d.kept
    eq(d.kept, 900)
    # the newest three replies are kept and sent again for duplicates
    for mid in (2, 3, 4):
        eq(d.lookup(("p", mid))[1], bytes([mid]) * 300)
    # an entry whose reply went is forgotten: its duplicate is handled again
    eq(d.lookup(("p", 0)), None)
    eq(d.lookup(("p", 1)), None)
    eq(len(d), 3)
    # a message still being handled keeps its place (no reply yet: a duplicate gets nothing)
    d.add(("p", 9), 247000)
    eq(d.lookup(("p", 9))[1], None)
    # expiry and the entry bound give their replies' bytes back
    clock.now += 247000
    d.add(("p", 10), 247000)
    eq((len(d), d.kept), (1, 0))


def test_rate_limit_bucket():
    clock = Clock()
    rate = RateLimiter(clock, burst=3, per_s=2, peers=4)
    eq([rate.take("p") for _ in range(3)], [0, 0, 0])
    eq(rate.take("p"), 1)          # half a second to the next token: Max-Age 1
    eq(rate.take("q"), 0)          # other peers have their own bucket
    clock.now += 499
    assert rate.take("p") > 0
    clock.now += 1
    eq(rate.take("p"), 0)
    clock.now += 60000
    eq([rate.take("p") for _ in range(4)], [0, 0, 0, 1])   # refills only up to the burst


def test_rate_limit_max_age_rounds_up():
    clock = Clock()
    rate = RateLimiter(clock, burst=1, per_s=1)
    eq(rate.take("p"), 0)
    clock.now += 1
    eq(rate.take("p"), 1)        # 0.999 s to wait: Max-Age 1, never 0
    clock.now += 998
    eq(rate.take("p"), 1)
    clock.now += 1
    eq(rate.take("p"), 0)


def test_rate_table_is_bounded_and_forgets_idle_peers_first():
    clock = Clock()
    rate = RateLimiter(clock, burst=2, per_s=1, peers=3)
    rate.take("idle")
    clock.now += 5000            # "idle" is full again: nothing worth remembering
    rate.take("a")
    rate.take("a")
    rate.take("b")
    rate.take("c")               # table full: "idle" goes, "a" (empty bucket) stays
    eq(sorted(rate.table), ["a", "b", "c"])
    eq(rate.take("a"), 1)
    eq(rate.take("d"), 0)        # nothing idle: "d" shares the strangers' bucket
    eq(rate.take("e"), 0)
    eq(rate.take("f"), 1)        # ... whose burst of 2 is spent: no fresh allowance
    eq(sorted(rate.table), ["*", "a", "b", "c"])


# --- the endpoint over an in-memory transport -------------------------------------------------------  # noqa: E501
class Memory:
    """A transport that records what the endpoint sends."""
    pollable = None

    def __init__(self):
        self.sent = []

    def recv(self, limit):
        return None

    def sendto(self, data, peer):
        self.sent.append((bytes(data), peer))


class Counter:
    methods = ("POST",)

    def __init__(self):
        self.calls = 0

    async def handle(self, request):
        self.calls += 1
        return Response(m.CHANGED, str(self.calls).encode() + b":" + bytes(request.payload),
                        m.CF_TEXT)


class Failing:
    methods = ("POST",)

    async def handle(self, request):
        raise errors.Conflict("id-reused", "id reused with other bytes")


def endpoint(**kw):
    clock = Clock()
    counter = Counter()
    ep = Endpoint(Memory(), {"/c": counter, "/f": Failing()}, clock=clock, **kw)
    return ep, counter, clock


def post(mid, mtype=m.CON, payload=b"x", path="c", token=b"t"):
    msg = m.Message(mtype, m.POST, mid, token).add(m.URI_PATH, path)
    msg.payload = payload
    return msg.encode()


async def pause():
    await asyncio.sleep_ms(5)


def settle():
    """Let the handler tasks the endpoint started run."""
    asyncio.run(pause())


def replies(ep):
    return [m.decode(d) for d, _ in ep.transport.sent]


def test_duplicate_con_gets_the_same_bytes_and_the_handler_runs_once():
    ep, counter, clock = endpoint()
    ep.datagram(post(7), "P")
    settle()
    ep.datagram(post(7, payload=b"other"), "P")   # same id: a duplicate, whatever it says
    settle()
    eq(counter.calls, 1)
    eq(len(ep.transport.sent), 2)
    eq(ep.transport.sent[0], ep.transport.sent[1])
    eq(bytes(replies(ep)[0].payload), b"1:x")
    eq(ep.stats["duplicates"], 1)


def test_duplicate_is_forgotten_after_exchange_lifetime():
    ep, counter, clock = endpoint()
    ep.datagram(post(7), "P")
    settle()
    clock.now += 247000
    ep.datagram(post(7), "P")
    settle()
    eq(counter.calls, 2)


def test_duplicate_non_is_ignored_until_non_lifetime():
    ep, counter, clock = endpoint()
    ep.datagram(post(9, m.NON), "P")
    settle()
    ep.datagram(post(9, m.NON), "P")
    settle()
    eq((counter.calls, len(ep.transport.sent)), (1, 1))
    eq(replies(ep)[0].mtype, m.NON)
    clock.now += 145000
    ep.datagram(post(9, m.NON), "P")
    settle()
    eq(counter.calls, 2)


def test_duplicate_while_processing_is_ignored():
    ep, counter, clock = endpoint()
    ep.datagram(post(7), "P")
    ep.datagram(post(7), "P")          # the handler task has not run yet
    settle()
    eq((counter.calls, len(ep.transport.sent)), (1, 1))


def test_same_id_from_another_peer_is_a_new_message():
    ep, counter, clock = endpoint()
    ep.datagram(post(7), "P")
    ep.datagram(post(7), "Q")
    settle()
    eq(counter.calls, 2)
    eq([p for _, p in ep.transport.sent], ["P", "Q"])


def test_dedup_cache_stays_bounded():
    ep, counter, clock = endpoint(rate=None)
    for mid in range(100):
        ep.datagram(post(mid), "P")
        settle()
        assert len(ep.dedup) <= 16
    eq(counter.calls, 100)


def test_protocol_error_from_a_handler_is_its_code_with_problem_details():
    ep, counter, clock = endpoint()
    ep.datagram(post(1, path="f"), "P")
    settle()
    resp = replies(ep)[0]
    eq((resp.mtype, resp.code, resp.mid), (m.ACK, errors.CONFLICT, 1))
    eq(resp.uint(m.CONTENT_FORMAT), 257)
    eq(bytes(resp.payload), problem(errors.CONFLICT, "Conflict", "id reused with other bytes").payload)  # noqa: E501


def test_problem_details_encoding():
    eq(problem(0x84, "Not Found", "no").payload, b"\xa2\x20\x69Not Found\x21\x62no")
    eq(problem(0x84, "T").payload, b"\xa1\x20\x61T")
    long = problem(0x80, "t", "d" * 500).payload
    eq(long[:6], b"\xa2\x20\x61t\x21\x78")       # detail cut to 200 characters
    eq(long[6], 200)


def test_rate_limit_answers_4_29_with_max_age():
    ep, counter, clock = endpoint(rate=(2, 1))
    for mid in range(3):
        ep.datagram(post(mid), "P")
        settle()
    resp = replies(ep)[2]
    eq((resp.code, resp.uint(m.MAX_AGE)), (errors.TOO_MANY_REQUESTS, 1))
    eq(counter.calls, 2)


def test_block1_through_the_endpoint():
    ep, counter, clock = endpoint()
    data = bytes(range(100))
    for num, (value, chunk) in enumerate(blocks(data, 1)):
        msg = m.Message(m.CON, m.POST, 100 + num, b"b").add(m.URI_PATH, "c").add(m.BLOCK1, value)
        msg.payload = chunk
        ep.datagram(msg.encode(), "P")
        settle()
    out = replies(ep)
    eq([r.code for r in out], [m.CONTINUE] * 3 + [m.CHANGED])
    eq([m.block_fields(r.uint(m.BLOCK1)) for r in out],
       [(0, True, 1), (1, True, 1), (2, True, 1), (3, False, 1)])
    eq(bytes(out[-1].payload), b"1:" + data)


class Broken:
    """No `methods`, and a slow() that fails: bugs the endpoint must survive."""

    def slow(self, request):
        raise KeyError("bug")


class BrokenSlow(Counter):
    def slow(self, request):
        raise KeyError("bug")


def test_broken_resources_get_5_00_and_the_endpoint_carries_on():
    ep = Endpoint(Memory(), {"/b": Broken(), "/s": BrokenSlow(), "/c": Counter()}, clock=Clock())
    ep.datagram(post(1, path="b"), "P")
    ep.datagram(post(2, path="s"), "P")
    ep.datagram(post(3, path="c"), "P")
    settle()
    eq([r.code for r in replies(ep)], [errors.INTERNAL_SERVER_ERROR] * 2 + [m.CHANGED])
    eq(ep.stats["internal_errors"], 2)
    ep.datagram(post(1, path="b"), "P")          # its duplicate gets the same 5.00
    eq(ep.transport.sent[-1], ep.transport.sent[0])


def test_a_heap_in_pieces_still_reads_a_datagram_with_the_reserve():
    # recvfrom needs one block of MAX_DATAGRAM + 1 bytes: where the heap has none, the
    # endpoint lets go of the block it keeps for this, collects and reads; afterwards it
    # takes the reserve back (a device that can read nothing never hears a retry).
    ep, counter, _ = endpoint()
    datagram = post(0x7001, payload=b"in pieces")

    class Fragmented:
        calls = 0

        def recv(self, limit):
            self.calls += 1
            eq(limit, 1281, "scratch size")
            if ep.rx_reserve is not None:
                raise MemoryError("no block of %d bytes" % limit)
            return datagram, ("10.0.0.9", 5683)

    fragmented = Fragmented()
    eq(ep.rx_reserve is not None and len(ep.rx_reserve), 1281, "reserved at start")
    got = ep._read(fragmented.recv)
    eq(got, (datagram, ("10.0.0.9", 5683)), "read after letting go of the reserve")
    eq(fragmented.calls, 2, "one failed read, one after the release")
    eq(ep.stats["dropped_no_memory"], 0, "nothing dropped")
    ep._retake_reserve()
    eq(len(ep.rx_reserve), 1281, "taken back")
