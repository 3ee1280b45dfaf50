"""The CoAP message layer (RFC 7252 section 4) on one datagram transport shared with the
device's own requests (client.py): the UDP transport, parsing, CON/NON/ACK/RST, pings,
the per-source rate limit, duplicate detection and the replies. (One module: each
module costs heap on the device.)

Per incoming datagram, in this order: parse (a CON that does not parse gets RST);
ACK/RST go to the client; an empty CON (ping) gets RST; a request is charged to its
source address's rate limit, duplicates included (over it: 4.29 at most once a second,
else silence); a duplicate message id gets the cached reply again (or nothing); then a
request goes to `on_request` (the request layer, endpoint.py) and a response to the client.
"""
import asyncio
import gc
import sys
import time
from collections import OrderedDict
from time import ticks_add, ticks_diff

from meldbox.coap import ACK_RANDOM_FACTOR, ACK_TIMEOUT_MS, MAX_DATAGRAM, MAX_RETRANSMIT
from meldbox.coap import (DEDUP_ENTRIES, DEDUP_REPLY_BYTES, EXCHANGE_LIFETIME_MS,
                          NON_LIFETIME_MS, RATE_BURST, RATE_PEERS, RATE_PER_S)
from meldbox.coap.client import SEPARATE_TIMEOUT_MS, Client
from meldbox.coap.message import (ACK, CON, CONTENT_FORMAT, EMPTY, MAX_AGE, NON, RST, SIZE1,
                                  FormatError, Message, decode)
from meldbox import heap
from meldbox.coap.resource import error_response
from meldbox.core import errors

RX_RESERVE = MAX_DATAGRAM + 1


# --- transport: a bound, non-blocking UDP socket -------------------------------------
class UdpTransport:
    def __init__(self, sock):
        self.sock = sock
        self.pollable = sock

    def recv(self, limit):
        """The next datagram, cut to `limit` bytes (the kernel drops the rest), or None.
        Not readinto() into a preallocated buffer: on a UDP socket MicroPython's stream
        readinto() runs queued datagrams together, and the unix port has no
        recvfrom_into; recvfrom frees its `limit`-byte scratch buffer at once."""
        try:
            return self.sock.recvfrom(limit)
        except OSError:     # nothing waiting (EAGAIN), or an ICMP error for an earlier send
            return None

    def sendto(self, data, peer):
        self.sock.sendto(data, peer)


def readable(obj):
    # Park the task in asyncio's I/O queue until obj is readable (as asyncio's streams do).
    yield asyncio.core._io_queue.queue_read(obj)


def source_address(peer):
    """The sender's address without its port: what per-source limits count by (a new
    source port must not buy a fresh allowance). `peer` is a raw sockaddr (bytes, the
    unix port: family, port, address), an (address, port) tuple (lwIP), or a test's name."""
    if isinstance(peer, tuple):
        return peer[0]
    if isinstance(peer, (bytes, bytearray)) and len(peer) >= 8:
        family = peer[0] | peer[1] << 8        # sa_family, host byte order (little endian)
        if family == 2:                        # AF_INET: port at 2..3, address at 4..7
            return bytes(peer[4:8])
        if family == 10 and len(peer) >= 24:   # AF_INET6: flowinfo at 4..7, address 8..23
            return bytes(peer[8:24])
    return peer


# --- duplicate detection (RFC 7252 4.5) ------------------------------------------------
def _key(key):
    peer, mid = key
    if isinstance(peer, bytes):
        return peer + bytes((mid >> 8, mid & 0xFF))
    return key


class Dedup:
    """Recently seen (peer, message id) pairs and the reply sent for each, bounded, oldest
    forgotten first; entries expire after EXCHANGE_LIFETIME / NON_LIFETIME. A flood fills
    this table, so an entry is small: one bytes key for a raw sockaddr, a 2-tuple value.
    The replies kept hold at most `reply_bytes` in all: the oldest go first, and an entry
    whose reply went is forgotten at its next lookup (its duplicate is handled again)."""

    def __init__(self, clock, size=DEDUP_ENTRIES, reply_bytes=DEDUP_REPLY_BYTES):
        self.clock = clock
        self.size = size
        self.reply_bytes = reply_bytes
        self.kept = 0                     # bytes of the replies kept
        # key -> (expires, reply): reply bytes, None while being handled, False once let go
        self.entries = OrderedDict()

    def __len__(self):
        return len(self.entries)

    def _drop(self, k):
        reply = self.entries.pop(k)[1]
        if reply:
            self.kept -= len(reply)

    def lookup(self, key):
        """(expires, reply or None) of a message seen before, else None. The reply is None
        while the message is being handled (a duplicate then gets nothing)."""
        k = _key(key)
        entry = self.entries.get(k)
        if entry is not None and (entry[1] is False or ticks_diff(entry[0], self.clock()) <= 0):
            self._drop(k)
            return None
        return entry

    def add(self, key, lifetime_ms):
        now = self.clock()
        entries = self.entries
        while entries:
            first = next(iter(entries))
            if len(entries) < self.size and ticks_diff(entries[first][0], now) > 0:
                break
            self._drop(first)
        entries[_key(key)] = (ticks_add(now, lifetime_ms), None)

    def answer(self, key, reply):
        k = _key(key)
        entries = self.entries
        entry = entries.get(k)
        if entry is None:
            return
        if entry[1]:
            self.kept -= len(entry[1])
        entries[k] = (entry[0], reply)
        self.kept += len(reply)
        # Over budget: let the oldest replies go (never the one just kept), marked False.
        for old in entries:
            if self.kept <= self.reply_bytes:
                break
            held = entries[old][1]
            if old != k and held:
                self.kept -= len(held)
                entries[old] = (entries[old][0], False)


# --- rate limit per source address -----------------------------------------------------
STRANGERS = "*"     # the shared bucket's key (no address looks like this)
TELL_EVERY_MS = 1000


class RateLimiter:
    """A token bucket per source address: `burst` requests at once, refilled at `per_s` a
    second (integers, in thousandths). Counted by address, not (address, port): a new
    source port buys no fresh allowance. The table is bounded; when it is full and no
    entry is idle (its bucket full again), a new address is charged to one shared bucket
    for all such strangers, so a flood from many addresses gets one allowance between them."""

    def __init__(self, clock, burst=RATE_BURST, per_s=RATE_PER_S, peers=RATE_PEERS):
        self.clock = clock
        self.full = burst * 1000
        self.per_s = per_s
        self.peers = peers
        # address -> [milli-tokens, ticks of last update, ticks of the last 4.29 or None]
        self.table = OrderedDict()

    def _entry(self, peer, now):
        addr = source_address(peer)
        entry = self.table.get(addr)
        if entry is None:
            if len(self.table) >= self.peers:
                self._forget_idle(now)
            if len(self.table) >= self.peers:
                addr = STRANGERS
                entry = self.table.get(STRANGERS)
            if entry is None:
                entry = [self.full, now, None]
                self.table[addr] = entry
                return entry
        # per_s tokens a second is per_s thousandths a millisecond.
        entry[0] = min(self.full, entry[0] + ticks_diff(now, entry[1]) * self.per_s)
        entry[1] = now
        return entry

    def take(self, peer):
        """0 when the peer may go ahead (one token spent), else the seconds until it may."""
        entry = self._entry(peer, self.clock())
        if entry[0] >= 1000:
            entry[0] -= 1000
            return 0
        per_s_milli = self.per_s * 1000
        return max(1, (1000 - entry[0] + per_s_milli - 1) // per_s_milli)

    def refund(self, peer):
        """Give back the token of a request that turned out not to cost what is limited."""
        entry = self.table.get(source_address(peer))
        if entry is not None:
            entry[0] = min(self.full, entry[0] + 1000)

    def tell(self, peer):
        """True at most once a second per bucket: whether a refused request gets its 4.29
        (the rest are dropped, so a flood is not answered datagram for datagram)."""
        now = self.clock()
        entry = self._entry(peer, now)
        if entry[2] is not None and ticks_diff(now, entry[2]) < TELL_EVERY_MS:
            return False
        entry[2] = now
        return True

    def _forget_idle(self, now):
        refill_ms = self.full // self.per_s
        for addr, entry in list(self.table.items()):
            if addr != STRANGERS and ticks_diff(now, entry[1]) >= refill_ms:
                del self.table[addr]    # bucket full again: nothing to remember


class MessageLayer:
    def __init__(self, transport, *, rate=(RATE_BURST, RATE_PER_S), clock=None,
                 ack_timeout_ms=ACK_TIMEOUT_MS, ack_random_factor=ACK_RANDOM_FACTOR,
                 max_retransmit=MAX_RETRANSMIT, separate_timeout_ms=SEPARATE_TIMEOUT_MS):
        """`transport`: a UdpTransport-like object, or a bound non-blocking UDP socket.
        `rate`: (burst, per second) per source address, or None.
        `clock`: ms ticks for the message-layer timers (time.ticks_ms)."""
        if not hasattr(transport, "pollable"):   # a bare socket
            transport = UdpTransport(transport)
        self.transport = transport
        self.clock = clock or time.ticks_ms
        self.dedup = Dedup(self.clock)
        self.rate = RateLimiter(self.clock, rate[0], rate[1]) if rate else None
        self.client = Client(self.send, ack_timeout_ms=ack_timeout_ms,
                             ack_random_factor=ack_random_factor, max_retransmit=max_retransmit,
                             separate_timeout_ms=separate_timeout_ms)
        self.stats = {"received": 0, "malformed": 0, "duplicates": 0, "rst_sent": 0,
                      "rate_limited": 0, "handler_errors": 0, "internal_errors": 0,
                      "separate_lost": 0, "dropped_no_memory": 0, "loop_no_memory": 0}
        self.last_error = None
        # A block kept for the datagram scratch buffer (see _read), reserved at boot.
        self.rx_reserve = heap.take("coap.rx_reserve", RX_RESERVE)

    def on_request(self, msg, peer, key, oversize):
        """A new request (not a duplicate, within the rate limit): the request layer's."""
        raise NotImplementedError

    # --- receiving --------------------------------------------------------------------
    async def run(self):
        """Serve forever: wait for datagrams without polling, handle each. One datagram
        per wake-up, so the handler task a request started runs before the next read."""
        recv = self.transport.recv
        pollable = self.transport.pollable
        while True:
            # A MemoryError must not end this task (waiting allocates too): the device
            # would stay up but never read another datagram.
            try:
                await readable(pollable)
                got = self._read(recv)
                if got is not None:
                    self.datagram(got[0], got[1])
                    got = None
                if self.rx_reserve is None:
                    self._retake_reserve()
            except MemoryError:
                self.stats["loop_no_memory"] += 1
                gc.collect()

    def _retake_reserve(self):
        try:
            self.rx_reserve = bytearray(RX_RESERVE)     # back once the heap has the room
        except MemoryError:
            pass

    def _read(self, recv):
        """One datagram. Reading needs a scratch block of MAX_DATAGRAM + 1 bytes and the
        datagram's bytes: when the heap has no such blocks even after a collection, the
        datagram is read cut to a few bytes and dropped (its sender retransmits, maybe
        after a request in progress let go of its memory). Never leave it queued: the
        socket stays readable and the loop spins on it."""
        try:
            return recv(MAX_DATAGRAM + 1)       # one byte more shows a datagram was cut
        except MemoryError:
            pass
        # The heap is in pieces smaller than the scratch buffer: let go of the block kept
        # for this (a device that can read nothing would never hear a retry either).
        self.rx_reserve = None
        gc.collect()
        try:
            return recv(MAX_DATAGRAM + 1)
        except MemoryError:
            self.stats["dropped_no_memory"] += 1
        try:
            recv(8)
        except MemoryError:
            pass
        return None

    def note(self, e):
        """Keep and log an unexpected exception (the console of the board, the simulator's
        stderr): the endpoint carries on, but nobody should have to guess what happened."""
        self.last_error = e
        sys.print_exception(e, sys.stderr)

    def datagram(self, data, peer):
        """Handle one datagram (a bug must not take the device off the network)."""
        try:
            self.receive(data, peer)
        except Exception as e:
            self.stats["internal_errors"] += 1
            self.note(e)

    def receive(self, data, peer):
        self.stats["received"] += 1
        oversize = len(data) > MAX_DATAGRAM
        try:
            msg = decode(memoryview(data), oversize)
        except FormatError as e:
            self.stats["malformed"] += 1
            if e.mtype == CON:          # RFC 7252 4.2: reject a CON we cannot process
                self.send_rst(e.mid, peer)
            return
        msg.size = len(data)            # a response may not outgrow it (resource.py)
        mtype = msg.mtype
        if mtype == ACK or mtype == RST:
            if not oversize:
                self.client.on_ack_or_reset(msg, peer)
            return
        if msg.code == EMPTY:
            if mtype == CON:            # CoAP ping (RFC 7252 4.3)
                self.send_rst(msg.mid, peer)
            return
        klass = msg.code >> 5
        key = (peer, msg.mid)
        if klass == 0 and self.rate is not None:
            wait_s = self.rate.take(peer)       # duplicates cost a token too
            if wait_s:
                self.stats["rate_limited"] += 1
                if self.rate.tell(peer):
                    self.reply(msg, peer, None, error_response(errors.too_many_requests(
                        "rate limit reached; retry in %d s" % wait_s, wait_s)))
                return
        seen = self.dedup.lookup(key)
        if seen is not None:
            self.stats["duplicates"] += 1
            if mtype == CON and seen[1] is not None:
                self.send(seen[1], peer)
            return
        self.dedup.add(key, EXCHANGE_LIFETIME_MS if mtype == CON else NON_LIFETIME_MS)
        if klass == 0:
            self.on_request(msg, peer, key, oversize)
        elif (klass == 2 or klass == 4 or klass == 5) and not oversize:
            self._response(msg, peer, key)
        elif mtype == CON:              # reserved code classes 1, 6, 7
            self.send_rst(msg.mid, peer)
            self.dedup.answer(key, Message(RST, EMPTY, msg.mid).encode())

    def _response(self, msg, peer, key):
        matched = self.client.on_response(msg, peer)
        if msg.mtype == CON:
            # ACK a separate response of ours; reject one nobody asked for (RFC 7252 5.3.2).
            reply = Message(ACK if matched else RST, EMPTY, msg.mid).encode()
            self.dedup.answer(key, reply)
            self.send(reply, peer)

    # --- sending ------------------------------------------------------------------------
    def message(self, resp, mtype, mid, token, extra=()):
        """The Message carrying Response `resp` (plus `extra` (number, value) options)."""
        out = Message(mtype, resp.code, mid, token)
        if resp.content_format is not None:
            out.add(CONTENT_FORMAT, resp.content_format)
        if resp.max_age is not None:
            out.add(MAX_AGE, resp.max_age)
        if resp.size1 is not None:
            out.add(SIZE1, resp.size1)
        for number, value in resp.options:
            out.add(number, value)
        for number, value in extra:
            out.add(number, value)
        out.payload = resp.payload
        return out

    def reply(self, msg, peer, key, resp, extra=()):
        """Answer a request: piggybacked in the ACK of a CON (and remembered under `key`
        for its duplicates), or as a NON response to a NON."""
        if msg.mtype == CON:
            data = self.message(resp, ACK, msg.mid, msg.token, extra).encode()
            if key is not None:
                self.dedup.answer(key, data)
        else:
            data = self.message(resp, NON, self.client.next_mid(), msg.token, extra).encode()
        self.send(data, peer)

    def send_rst(self, mid, peer):
        self.stats["rst_sent"] += 1
        self.send(Message(RST, EMPTY, mid).encode(), peer)

    def send(self, data, peer):
        try:
            self.transport.sendto(data, peer)
        except OSError:     # unreachable peer or full buffers: like a datagram lost
            pass
