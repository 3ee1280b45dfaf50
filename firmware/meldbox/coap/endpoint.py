"""The CoAP endpoint: message layer (RFC 7252 section 4) and request dispatch to
resources (section 5), on one datagram transport shared with the device's own
requests (client.py).

Per incoming datagram, in this order: parse (a CON that does not parse gets RST);
ACK/RST go to the client; an empty CON (ping) gets RST; a duplicate message id gets
the cached reply again (or nothing); then for requests: rate limit (4.29), a datagram
over MAX_DATAGRAM (4.13 with Size1 and a Block1 size hint), critical options (4.02),
proxying (5.05), path (4.04), method (4.05), preconditions (4.12), size (4.13), Block1
reassembly (2.31, 4.08, 4.13, 5.03), requests in progress (5.03), and finally the
resource's handler, piggybacked in the ACK, or after an empty ACK as a separate CON
response when the resource says it is slow. Resources:

    class Notices:
        methods = ("POST",)
        link = ';ct=18;rt="meldbox.notice"'      # attributes for /.well-known/core
        def slow(self, request): return False     # True: empty ACK first (RFC 7252 5.2.2)
        async def handle(self, request): return Response(CREATED, receipt, 18)

A handler raising errors.ProtocolError answers with its code and problem details;
any other exception answers 5.00 and the endpoint carries on.
"""
import asyncio
import gc
import time
from collections import OrderedDict
from time import ticks_add, ticks_diff

from meldbox.coap import (EXCHANGE_LIFETIME_MS, MAX_BLOCK_SZX, MAX_BODY, MAX_DATAGRAM,
                          MAX_INFLIGHT, NON_LIFETIME_MS, RATE_BURST, RATE_PEERS,
                          RATE_PER_S, DEDUP_ENTRIES, ACK_TIMEOUT_MS, ACK_RANDOM_FACTOR,
                          MAX_RETRANSMIT)
from meldbox.coap.blockwise import OUT_OF_MEMORY_MAX_AGE, BodyTooLarge, Reassembler
from meldbox.coap.client import SEPARATE_TIMEOUT_MS, Client, Reset
from meldbox.coap.message import (ACCEPT, ACK, BLOCK1, BLOCK2, CF_LINK_FORMAT, CF_PROBLEM,
                                  CON, CONTENT, CONTENT_FORMAT, CONTINUE, EMPTY, IF_MATCH,
                                  IF_NONE_MATCH, MAX_AGE, METHODS, NON, NOT_ACCEPTABLE,
                                  PRECONDITION_FAILED, PROXY_SCHEME, PROXY_URI,
                                  PROXYING_NOT_SUPPORTED, REQUEST_TAG, RST, SIZE1, SIZE2,
                                  URI_PATH, URI_QUERY, FormatError, Message, block_fields,
                                  block_size, block_value, code_text, decode)
from meldbox.core import errors

WELL_KNOWN_CORE = "/.well-known/core"
MAX_DETAIL_CHARS = 200     # keeps every problem-details response within one datagram


# --- errors the endpoint itself answers with ------------------------------------------
class BadOption(errors.ProtocolError):
    code = errors.BAD_OPTION
    reason = "bad-option"
    title = "Bad Option"


class NotFound(errors.ProtocolError):
    code = errors.NOT_FOUND
    reason = "not-found"
    title = "Not Found"


class MethodNotAllowed(errors.ProtocolError):
    code = errors.METHOD_NOT_ALLOWED
    reason = "method-not-allowed"
    title = "Method Not Allowed"


class PreconditionFailed(errors.ProtocolError):
    code = PRECONDITION_FAILED
    reason = "precondition-failed"
    title = "Precondition Failed"


class ProxyingNotSupported(errors.ProtocolError):
    code = PROXYING_NOT_SUPPORTED
    reason = "no-proxy"
    title = "Proxying Not Supported"


# --- what resources see and return ---------------------------------------------------
class Response:
    """A response from a resource. `options` holds any further (number, value) pairs."""

    def __init__(self, code, payload=b"", content_format=None, max_age=None, size1=None):
        self.code = code
        self.payload = payload
        self.content_format = content_format
        self.max_age = max_age
        self.size1 = size1
        self.options = []

    def __repr__(self):
        return "<Response %s %d bytes cf=%s>" % (code_text(self.code), len(self.payload),
                                                 self.content_format)


class Request:
    """A request as a resource sees it; `payload` is the whole body (Block1 reassembled),
    bytes-like: bytes, or the reassembly bytearray/memoryview (take bytes() to keep it)."""

    def __init__(self, msg, peer, path, method, payload, resource):
        self.code = msg.code
        self.method = method
        self.path = path
        self.payload = payload
        self.content_format = msg.uint(CONTENT_FORMAT)
        self.accept = msg.uint(ACCEPT)
        self.query = msg.strings(URI_QUERY)
        self.options = msg.options
        self.token = msg.token
        self.confirmable = msg.mtype == CON
        self.peer = peer
        self.resource = resource


def problem(code, title, detail=None):
    """An RFC 9290 concise problem details response: CBOR {-1: title, -2: detail},
    Content-Format 257."""
    parts = [b"\xa2" if detail is not None else b"\xa1", b"\x20", _cbor_text(title)]
    if detail is not None:
        parts.append(b"\x21")
        parts.append(_cbor_text(str(detail)[:MAX_DETAIL_CHARS]))
    return Response(code, b"".join(parts), CF_PROBLEM)


def _cbor_text(text):
    raw = text.encode()
    n = len(raw)
    if n < 24:
        head = bytes((0x60 | n,))
    elif n < 256:
        head = bytes((0x78, n))
    else:
        head = bytes((0x79, n >> 8, n & 0xFF))
    return head + raw


def error_response(err):
    """A ProtocolError as problem details, with Size1 / Max-Age when the error has them."""
    resp = problem(err.code, err.title, err.detail)
    resp.size1 = getattr(err, "size1", None)
    resp.max_age = getattr(err, "max_age", None)
    return resp


def link_format(resources):
    """RFC 6690 links for /.well-known/core, e.g. </notices>;ct=18,</status>;ct=18."""
    return ",".join("<%s>%s" % (path, getattr(resources[path], "link", "") or "")
                    for path in sorted(resources)).encode()


# --- transport ---------------------------------------------------------------------------
class UdpTransport:
    """The datagram transport over a bound, non-blocking UDP socket. A transport has
    `recv(limit) -> (data, peer) or None`, `sendto(data, peer)` and `pollable` (what the
    asyncio loop waits on); a DTLS transport can offer the same later."""

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


def _readable(obj):
    # Park the task in asyncio's I/O queue until obj is readable (as asyncio's streams do).
    yield asyncio.core._io_queue.queue_read(obj)


# --- message-layer state ---------------------------------------------------------------------
class Dedup:
    """Recently seen (peer, message id) pairs and the reply sent for each (bounded,
    oldest forgotten first; entries expire after EXCHANGE_LIFETIME / NON_LIFETIME)."""

    def __init__(self, clock, size=DEDUP_ENTRIES):
        self.clock = clock
        self.size = size
        self.entries = OrderedDict()      # key -> [expires, reply bytes or None]

    def __len__(self):
        return len(self.entries)

    def lookup(self, key):
        entry = self.entries.get(key)
        if entry is not None and ticks_diff(entry[0], self.clock()) <= 0:
            del self.entries[key]
            return None
        return entry

    def add(self, key, lifetime_ms):
        now = self.clock()
        entries = self.entries
        while entries:
            first = next(iter(entries))
            if len(entries) < self.size and ticks_diff(entries[first][0], now) > 0:
                break
            del entries[first]
        entries[key] = [ticks_add(now, lifetime_ms), None]

    def answer(self, key, reply):
        entry = self.entries.get(key)
        if entry is not None:
            entry[1] = reply


class RateLimiter:
    """A token bucket per peer: `burst` requests at once, refilled at `per_s` a second
    (integers, counted in thousandths). The peer table is bounded."""

    def __init__(self, clock, burst=RATE_BURST, per_s=RATE_PER_S, peers=RATE_PEERS):
        self.clock = clock
        self.full = burst * 1000
        self.per_s = per_s
        self.peers = peers
        self.table = OrderedDict()        # peer -> [milli-tokens, ticks of last update]

    def take(self, peer):
        """0 when the peer may go ahead (one token spent), else the seconds until it may."""
        now = self.clock()
        entry = self.table.get(peer)
        if entry is None:
            if len(self.table) >= self.peers:
                self._make_room(now)
            entry = [self.full, now]
            self.table[peer] = entry
        else:
            # per_s tokens a second is per_s thousandths a millisecond.
            entry[0] = min(self.full, entry[0] + ticks_diff(now, entry[1]) * self.per_s)
            entry[1] = now
        if entry[0] >= 1000:
            entry[0] -= 1000
            return 0
        per_s_milli = self.per_s * 1000
        return max(1, (1000 - entry[0] + per_s_milli - 1) // per_s_milli)

    def _make_room(self, now):
        refill_ms = self.full // self.per_s
        for peer, entry in list(self.table.items()):
            if ticks_diff(now, entry[1]) >= refill_ms:   # bucket full again: nothing to remember
                del self.table[peer]
        while len(self.table) >= self.peers:
            del self.table[next(iter(self.table))]


# --- the endpoint ---------------------------------------------------------------------------
class Endpoint:
    def __init__(self, transport, resources, *, rate=(RATE_BURST, RATE_PER_S), clock=None,
                 ack_timeout_ms=ACK_TIMEOUT_MS, ack_random_factor=ACK_RANDOM_FACTOR,
                 max_retransmit=MAX_RETRANSMIT, separate_timeout_ms=SEPARATE_TIMEOUT_MS):
        """`transport`: a UdpTransport-like object, or a bound non-blocking UDP socket.
        `resources`: path -> resource. `rate`: (burst, per second) per peer, or None.
        `clock`: ms ticks for the message-layer timers (time.ticks_ms)."""
        if not hasattr(transport, "pollable"):   # a bare socket
            transport = UdpTransport(transport)
        self.transport = transport
        self.resources = resources
        self.clock = clock or time.ticks_ms
        self.dedup = Dedup(self.clock)
        self.rate = RateLimiter(self.clock, rate[0], rate[1]) if rate else None
        self.blocks = Reassembler(self.clock)
        self.client = Client(self._send, ack_timeout_ms=ack_timeout_ms,
                             ack_random_factor=ack_random_factor, max_retransmit=max_retransmit,
                             separate_timeout_ms=separate_timeout_ms)
        self.inflight = 0
        self.links = link_format(resources)
        self.stats = {"received": 0, "malformed": 0, "duplicates": 0, "rst_sent": 0,
                      "handler_errors": 0, "internal_errors": 0, "separate_lost": 0}
        self.last_error = None

    # --- receiving --------------------------------------------------------------------
    async def run(self):
        """Serve forever: wait for datagrams without polling, handle each. One datagram
        per wake-up, so the handler task a request started runs before the next read."""
        recv = self.transport.recv
        pollable = self.transport.pollable
        while True:
            await _readable(pollable)
            try:
                got = recv(MAX_DATAGRAM + 1)    # one byte more shows a datagram was cut
            except MemoryError:                 # the datagram waits; retry after a GC
                gc.collect()
                continue
            if got is not None:
                self.datagram(got[0], got[1])

    def _note(self, e):
        """Keep and log an unexpected exception (the console of the board, the simulator's
        stderr): the endpoint carries on, but nobody should have to guess what happened."""
        self.last_error = e
        import sys
        sys.print_exception(e, sys.stderr)

    def datagram(self, data, peer):
        """Handle one datagram (a bug must not take the device off the network)."""
        try:
            self.receive(data, peer)
        except Exception as e:
            self.stats["internal_errors"] += 1
            self._note(e)

    def receive(self, data, peer):
        self.stats["received"] += 1
        oversize = len(data) > MAX_DATAGRAM
        try:
            msg = decode(memoryview(data), oversize)
        except FormatError as e:
            self.stats["malformed"] += 1
            if e.mtype == CON:          # RFC 7252 4.2: reject a CON we cannot process
                self._send_rst(e.mid, peer)
            return
        mtype = msg.mtype
        if mtype == ACK or mtype == RST:
            if not oversize:
                self.client.on_ack_or_reset(msg, peer)
            return
        if msg.code == EMPTY:
            if mtype == CON:            # CoAP ping (RFC 7252 4.3)
                self._send_rst(msg.mid, peer)
            return
        key = (peer, msg.mid)
        seen = self.dedup.lookup(key)
        if seen is not None:
            self.stats["duplicates"] += 1
            if mtype == CON and seen[1] is not None:
                self._send(seen[1], peer)
            return
        self.dedup.add(key, EXCHANGE_LIFETIME_MS if mtype == CON else NON_LIFETIME_MS)
        klass = msg.code >> 5
        if klass == 0:
            self._request(msg, peer, key, oversize)
        elif (klass == 2 or klass == 4 or klass == 5) and not oversize:
            self._response(msg, peer, key)
        elif mtype == CON:              # reserved code classes 1, 6, 7
            self._send_rst(msg.mid, peer)
            self.dedup.answer(key, Message(RST, EMPTY, msg.mid).encode())

    def _response(self, msg, peer, key):
        matched = self.client.on_response(msg, peer)
        if msg.mtype == CON:
            # ACK a separate response of ours; reject one nobody asked for (RFC 7252 5.3.2).
            reply = Message(ACK if matched else RST, EMPTY, msg.mid).encode()
            self.dedup.answer(key, reply)
            self._send(reply, peer)

    def _request(self, msg, peer, key, oversize):
        if self.rate is not None:
            wait_s = self.rate.take(peer)
            if wait_s:
                resp = problem(errors.TOO_MANY_REQUESTS, "Too Many Requests",
                               "rate limit reached; retry in %d s" % wait_s)
                resp.max_age = wait_s
                self._reply(msg, peer, key, resp)
                return
        if oversize:
            # Only the start was read. RFC 7959 2.9.3: 4.13 with Size1, and a Block1
            # option giving the block size to use instead.
            resp = error_response(BodyTooLarge(
                "datagram longer than %d bytes: send the body with Block1" % MAX_DATAGRAM))
            resp.options.append((BLOCK1, block_value(0, False, MAX_BLOCK_SZX)))
            self._reply(msg, peer, key, resp)
            return
        try:
            routed = self._route(msg, peer)
        except errors.ProtocolError as e:
            self._reply(msg, peer, key, error_response(e))
            return
        except MemoryError:
            resp = problem(errors.SERVICE_UNAVAILABLE, "Service Unavailable", "out of memory")
            resp.max_age = OUT_OF_MEMORY_MAX_AGE
            self._reply(msg, peer, key, resp)
            return
        except Exception as e:      # a resource without `methods`, a bug: 5.00, carry on
            self._internal_error(msg, peer, key, e)
            return
        msg.payload = b""     # taken (copied) by now; do not keep the datagram alive
        if isinstance(routed, Response):
            self._reply(msg, peer, key, *self._finish(msg, routed))
            return
        if self.inflight >= MAX_INFLIGHT:
            self.blocks.release(routed.payload)
            resp = problem(errors.SERVICE_UNAVAILABLE, "Service Unavailable",
                           "%d requests in progress" % self.inflight)
            resp.max_age = 1
            self._reply(msg, peer, key, resp)
            return
        separate = False
        if msg.mtype == CON:
            slow = getattr(routed.resource, "slow", None)
            try:
                separate = slow is not None and bool(slow(routed))
            except Exception as e:
                self.blocks.release(routed.payload)
                self._internal_error(msg, peer, key, e)
                return
            if separate:
                ack = Message(ACK, EMPTY, msg.mid).encode()
                self.dedup.answer(key, ack)     # a duplicate meanwhile gets the ACK again
                self._send(ack, peer)
        self.inflight += 1
        asyncio.create_task(self._serve(msg, peer, key, routed, separate))

    def _internal_error(self, msg, peer, key, e):
        self.stats["internal_errors"] += 1
        self._note(e)
        self._reply(msg, peer, key, problem(errors.INTERNAL_SERVER_ERROR, "Internal Server Error",
                                            type(e).__name__))

    def _route(self, msg, peer):
        """The checks before a handler runs. Returns a Response the endpoint answers
        itself (/.well-known/core, 2.31 Continue) or the Request for a resource."""
        bad = msg.bad_critical_option()
        if bad is not None:
            raise BadOption("critical option %d not understood" % bad)
        if msg.get(PROXY_URI) is not None or msg.get(PROXY_SCHEME) is not None:
            raise ProxyingNotSupported("this device is not a proxy")
        try:
            path = "/" + "/".join(msg.strings(URI_PATH))
            msg.strings(URI_QUERY)
        except UnicodeError:
            raise errors.MalformedError("Uri-Path or Uri-Query is not UTF-8")
        method = METHODS.get(msg.code)
        if path == WELL_KNOWN_CORE:
            if method != "GET":
                raise MethodNotAllowed("%s takes GET only" % path)
            return Response(CONTENT, self.links, CF_LINK_FORMAT)
        resource = self.resources.get(path)
        if resource is None:
            raise NotFound("no resource at %s" % path)
        if method not in resource.methods:
            raise MethodNotAllowed("%s takes %s, not %s" % (path, " ".join(resource.methods),
                                                             method or code_text(msg.code)))
        # These resources have no ETags and always exist (RFC 7252 5.10.8): If-Match holds
        # only in its empty form, If-None-Match never.
        if msg.get(IF_NONE_MATCH) is not None:
            raise PreconditionFailed("If-None-Match: %s exists" % path)
        matches = msg.get_all(IF_MATCH)
        if matches and b"" not in matches:
            raise PreconditionFailed("If-Match: no ETag of %s matches" % path)
        size1 = msg.uint(SIZE1)
        if size1 is not None and size1 > MAX_BODY:
            raise BodyTooLarge("Size1 announces %d bytes; at most %d" % (size1, MAX_BODY))
        block1 = msg.uint(BLOCK1)
        if block1 is None:
            if len(msg.payload) > MAX_BODY:
                raise BodyTooLarge("payload of %d bytes; at most %d" % (len(msg.payload), MAX_BODY))
            body = bytes(msg.payload)
        else:
            body = self.blocks.feed((peer, msg.code, path, msg.get(REQUEST_TAG)), peer,
                                    block1, msg.payload, msg.uint(SIZE1))
            if body is None:
                num, _, szx = block_fields(block1)
                resp = Response(CONTINUE)
                resp.options.append((BLOCK1, block_value(num, True, szx)))
                return resp
        return Request(msg, peer, path, method, body, resource)

    async def _serve(self, msg, peer, key, request, separate):
        try:
            try:
                try:
                    resp = await request.resource.handle(request)
                finally:        # the body's reserved buffer may serve the next transfer
                    self.blocks.release(request.payload)
                if not isinstance(resp, Response):
                    raise TypeError("handler returned %r, not a Response" % (resp,))
            except errors.ProtocolError as e:
                resp = error_response(e)
            except Exception as e:
                self.stats["handler_errors"] += 1
                self._note(e)
                resp = problem(errors.INTERNAL_SERVER_ERROR, "Internal Server Error",
                               "%s while handling %s" % (type(e).__name__, request.path))
            resp, extra = self._finish(msg, resp)
            if not separate:
                self._reply(msg, peer, key, resp, extra)
                return
            out = self._message(resp, CON, self.client.next_mid(), msg.token, extra)
            try:
                await self.client.confirm(out, peer)
            except (asyncio.TimeoutError, Reset):
                self.stats["separate_lost"] += 1
        except Exception as e:     # e.g. a payload that is not bytes: never kill the loop
            self.stats["internal_errors"] += 1
            self._note(e)
        finally:
            self.inflight -= 1

    # --- building replies ------------------------------------------------------------------
    def _finish(self, msg, resp):
        """Accept (4.06), Block2 slicing and the Block1 echo. Returns (response, options)."""
        extra = []
        if resp.code >> 5 == 2:
            accept = msg.uint(ACCEPT)
            if accept is not None and len(resp.payload) and resp.content_format != accept:
                return problem(NOT_ACCEPTABLE, "Not Acceptable",
                               "Content-Format %s only" % resp.content_format), extra
            resp = self._block2(msg, resp, extra)
        block1 = msg.uint(BLOCK1)
        if block1 is not None and resp.code != CONTINUE:
            num, _, szx = block_fields(block1)
            extra.append((BLOCK1, block_value(num, False, szx)))
        return resp, extra

    def _block2(self, msg, resp, extra):
        """Cut a large response into RFC 7959 Block2 blocks (the client asks for the next
        block with the same request and a Block2 option)."""
        payload = resp.payload
        requested = msg.uint(BLOCK2)
        num, szx = 0, MAX_BLOCK_SZX
        if requested is not None:
            num, _, szx = block_fields(requested)
            if szx == 7:
                return problem(errors.BAD_REQUEST, "Bad Request", "Block2 SZX 7 is reserved")
            szx = min(szx, MAX_BLOCK_SZX)
        size = block_size(szx)
        if requested is None and len(payload) <= size:
            return resp
        start = num * size
        if num and start >= len(payload):
            return problem(errors.BAD_OPTION, "Bad Option", "Block2 %d is past the end" % num)
        part = Response(resp.code, payload[start:start + size], resp.content_format, resp.max_age)
        part.options = resp.options
        extra.append((BLOCK2, block_value(num, start + size < len(payload), szx)))
        if num == 0 or msg.get(SIZE2) is not None:
            extra.append((SIZE2, len(payload)))
        return part

    def _message(self, resp, mtype, mid, token, extra=()):
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

    def _reply(self, msg, peer, key, resp, extra=()):
        """Answer a request: piggybacked in the ACK of a CON (and remembered for its
        duplicates), or as a NON response to a NON."""
        if msg.mtype == CON:
            data = self._message(resp, ACK, msg.mid, msg.token, extra).encode()
            self.dedup.answer(key, data)
        else:
            data = self._message(resp, NON, self.client.next_mid(), msg.token, extra).encode()
        self._send(data, peer)

    def _send_rst(self, mid, peer):
        self.stats["rst_sent"] += 1
        self._send(Message(RST, EMPTY, mid).encode(), peer)

    def _send(self, data, peer):
        try:
            self.transport.sendto(data, peer)
        except OSError:     # unreachable peer or full buffers: like a datagram lost
            pass

    # --- the client side ---------------------------------------------------------------------
    async def request(self, peer, method, path, payload=b"", content_format=None):
        """A CON request from this endpoint (RFC 7252 retransmission); returns a Response,
        raises asyncio.TimeoutError or client.Reset."""
        msg = await self.client.request(peer, method, path, payload, content_format)
        resp = Response(msg.code, bytes(msg.payload), msg.uint(CONTENT_FORMAT),
                        msg.uint(MAX_AGE), msg.uint(SIZE1))
        resp.options = msg.options
        return resp
