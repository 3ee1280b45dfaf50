"""The device's CoAP resources (PROTOCOL.md section 5): /notices and /status."""
import gc
import hashlib
import time

from meldbox import log_exception
from meldbox.coap.message import ECHO
from meldbox.coap.resource import Response, error_response, problem
from meldbox.coap.messagelayer import source_address
from meldbox.core import cose, errors

CONTENT_FORMAT_COSE_SIGN1 = 18
CONTENT = 0x45   # 2.05
UNAUTHORIZED = 0x81   # 4.01
BUSY_MAX_AGE = 5
STATUS_CACHE_MS = 5000
ECHO_PERIOD_MS = 30000
ECHO_MIN, ECHO_MAX = 5, 8   # Echo bytes: fewer than 5 would be guessable


class NoticesResource:
    methods = ("POST",)
    link = ';ct=18;rt="meldbox.notice"'

    def __init__(self, intake, state, slow_verify):
        self.intake = intake
        self.state = state              # callable -> status summary for ping answers
        self.slow_verify = slow_verify  # callable -> True when a verify may outlast ~1 s

    def slow(self, request):
        """Separate response (empty ACK first) only where a slow verify will really run:
        after the cheap checks (COSE structure, a trusted kid) pass. Garbage and unknown
        kids are refused at once, piggybacked, holding no in-flight slot for a minute."""
        if not self.slow_verify():
            return False
        try:
            return bool(self.intake.trust.lookup(cose.decode_sign1(request.payload).kid))
        except errors.ProtocolError:
            return False

    async def handle(self, request):
        if request.content_format != CONTENT_FORMAT_COSE_SIGN1:
            return problem(errors.UNSUPPORTED_CONTENT_FORMAT, "Unsupported Content-Format",
                           "POST /notices takes a COSE_Sign1 object, Content-Format 18")
        try:
            code, receipt = self.intake.receive(request.payload, self.state, request.peer)
        except errors.ProtocolError as e:
            return error_response(e)
        except MemoryError as e:
            log_exception("taking in a message", e)
            # Nothing was committed (or, if it was, a retry gets the stored receipt):
            # ask the hotline to come back shortly instead of failing for good.
            gc.collect()
            resp = problem(errors.SERVICE_UNAVAILABLE, "Service Unavailable",
                           "out of memory for this message now; retry")
            resp.max_age = BUSY_MAX_AGE
            return resp
        return Response(code, receipt, CONTENT_FORMAT_COSE_SIGN1)


class StatusResource:
    """GET /status (PROTOCOL.md 5). The signed status is ~300 bytes, so a spoofed 11-byte
    request must not get it (amplification): a request without a valid RFC 9175 Echo
    gets 4.01 with a fresh Echo value, sized so that the answer is no larger than the
    request; the requester repeats the request with that Echo, which proves it receives at
    its address. Echo values are a keyed hash of the source address and a 30 s period
    (valid for the current and the previous one): nothing to store per requester. The
    signed answer is cached for STATUS_CACHE_MS, so requests cost no signature each."""
    methods = ("GET",)
    link = ";ct=18"

    def __init__(self, ledger, state, ticks_ms, urandom):
        self.ledger = ledger
        self.state = state
        self.ticks_ms = ticks_ms
        self.secret = urandom(16)
        self.cached = None      # (ticks_ms, chain head, receipt bytes)

    def slow(self, request):
        return False

    def echo(self, peer, period):
        h = hashlib.sha256(self.secret)
        addr = source_address(peer)
        h.update(addr if isinstance(addr, bytes) else repr(addr).encode())
        h.update(period.to_bytes(4, "big"))
        return h.digest()[:ECHO_MAX]

    async def handle(self, request):
        period = (self.ticks_ms() // ECHO_PERIOD_MS) & 0xFFFFFFFF
        given = None
        for number, value in request.options:
            if number == ECHO:
                given = bytes(value)
        if given is None or len(given) < ECHO_MIN or not any(
                self.echo(request.peer, p)[:len(given)] == given for p in (period, period - 1)):
            # Header, token, the Echo option (1-byte header and 1-byte delta extension).
            room = request.size - 4 - len(request.token) - 2
            resp = Response(UNAUTHORIZED)
            if room >= ECHO_MIN:
                resp.options.append((ECHO, self.echo(request.peer, period)[:min(room, ECHO_MAX)]))
            return resp
        now = self.ticks_ms()
        head = self.ledger.store.head_hash
        cached = self.cached
        if cached is None or cached[1] != head or \
                time.ticks_diff(now, cached[0]) >= STATUS_CACHE_MS:
            cached = self.cached = (now, head, self.ledger.status(self.state()))
        return Response(CONTENT, cached[2], CONTENT_FORMAT_COSE_SIGN1)
