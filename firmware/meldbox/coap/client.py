"""Confirmable messages with retransmission (RFC 7252 section 4.2 and 4.8) and the
client side of requests (section 5.2, 5.3): CON requests whose response comes
piggybacked in the ACK or later as a separate response matched by token.

The endpoint's receive loop hands ACK, RST and response messages to `Client`; the
client sends through the endpoint's `send(data, peer)`. It serves two users: the
device's own requests (receipt delivery) and the endpoint's separate responses.
"""
import asyncio
import os

from meldbox.coap import ACK_RANDOM_FACTOR, ACK_TIMEOUT_MS, MAX_RETRANSMIT
from meldbox.coap import uri as coap_uri
from meldbox.coap.message import (ACK, CON, CONTENT_FORMAT, METHODS, RST, Message)

# How long to wait for a separate response after the empty ACK (RFC 7252 leaves it
# to the application; aiocoap waits MAX_TRANSMIT_WAIT).
SEPARATE_TIMEOUT_MS = 93000
MAX_REQUEST_PAYLOAD = 1024        # one block; the device's receipts are far smaller

_METHOD_CODES = {name: code for code, name in METHODS.items()}


class Reset(Exception):
    """The peer answered our confirmable message with RST."""


class _Exchange:
    def __init__(self, token=None):
        self.token = token
        self.event = asyncio.Event()
        self.ack = None          # the ACK message (empty or with a piggybacked response)
        self.reset = False
        self.response = None     # a separate response


class Client:
    def __init__(self, send, *, ack_timeout_ms=ACK_TIMEOUT_MS, ack_random_factor=ACK_RANDOM_FACTOR,
                 max_retransmit=MAX_RETRANSMIT, separate_timeout_ms=SEPARATE_TIMEOUT_MS):
        self.send = send
        self.ack_timeout_ms = ack_timeout_ms
        self.random_factor = ack_random_factor
        self.max_retransmit = max_retransmit
        self.separate_timeout_ms = separate_timeout_ms
        seed = os.urandom(2)
        # A random starting point, so a reboot does not reuse recent message ids.
        self._mid = (seed[0] << 8) | seed[1]
        self.awaiting_ack = {}       # (peer, mid) -> _Exchange
        self.awaiting_response = {}  # (peer, token) -> _Exchange
        self.retransmissions = 0     # total, for tests and the status screen

    def next_mid(self):
        self._mid = (self._mid + 1) & 0xFFFF
        return self._mid

    def next_token(self):
        """8 random bytes per request: a token nobody can predict from the last one, so an
        off-path attacker cannot forge a response to a receipt delivery (RFC 7252 5.3.1)."""
        return os.urandom(8)

    def first_timeout_ms(self):
        """ACK_TIMEOUT scaled by a random factor in [1, ACK_RANDOM_FACTOR]."""
        spread = int(self.ack_timeout_ms * (self.random_factor - 1))
        return self.ack_timeout_ms + spread * os.urandom(1)[0] // 255

    async def confirm(self, msg, peer, exchange=None):
        """Send a CON message until it is acknowledged (returns the ACK message) or
        reset (raises Reset); raises asyncio.TimeoutError after MAX_RETRANSMIT."""
        ex = exchange or _Exchange()
        key = (peer, msg.mid)
        self.awaiting_ack[key] = ex
        data = msg.encode()
        timeout = self.first_timeout_ms()
        try:
            for attempt in range(self.max_retransmit + 1):
                if attempt:
                    self.retransmissions += 1
                self.send(data, peer)
                try:
                    await asyncio.wait_for_ms(ex.event.wait(), timeout)
                except asyncio.TimeoutError:
                    timeout *= 2
                    continue
                if ex.reset:
                    raise Reset("reset by peer")
                return ex.ack
            raise asyncio.TimeoutError()
        finally:
            self.awaiting_ack.pop(key, None)

    async def request(self, peer, method, path, payload=b"", content_format=None):
        """One CON request; returns the response Message (piggybacked or separate)."""
        if isinstance(peer, bytearray):
            peer = bytes(peer)    # raw sockaddrs from getaddrinfo; must equal recvfrom's
        if len(payload) > MAX_REQUEST_PAYLOAD:
            raise ValueError("request payload larger than one block")
        msg = Message(CON, _METHOD_CODES[method], self.next_mid(), self.next_token())
        msg.options = coap_uri.request_options(path)
        if content_format is not None:
            msg.add(CONTENT_FORMAT, content_format)
        msg.payload = payload
        ex = _Exchange(msg.token)
        rkey = (peer, msg.token)
        self.awaiting_response[rkey] = ex
        try:
            ack = await self.confirm(msg, peer, ex)
            if ack is not None and ack.code:
                return ack                     # piggybacked
            if ex.response is None:
                ex.event.clear()
                await asyncio.wait_for_ms(ex.event.wait(), self.separate_timeout_ms)
            return ex.response
        finally:
            self.awaiting_response.pop(rkey, None)

    # --- called by the endpoint's receive loop -------------------------------------
    def on_ack_or_reset(self, msg, peer):
        """An ACK or RST arrived. Returns True when it matched a CON of ours (an
        unmatched one is silently ignored, RFC 7252 4.2)."""
        ex = self.awaiting_ack.get((peer, msg.mid))
        if ex is None:
            return False
        if msg.mtype == RST:
            ex.reset = True
        elif msg.code and ex.token is not None and msg.token != ex.token:
            return False   # a piggybacked response must carry our token
        msg.payload = bytes(msg.payload)       # the receive buffer will be reused
        ex.ack = msg
        ex.event.set()
        return True

    def on_response(self, msg, peer):
        """A CON or NON response arrived. Returns True when its token is ours."""
        ex = self.awaiting_response.get((peer, bytes(msg.token)))
        if ex is None:
            return False
        if ex.response is None:
            msg.payload = bytes(msg.payload)   # the receive buffer will be reused
            ex.response = msg
            if ex.ack is None:
                # The response overtook (or replaced) the ACK: stop retransmitting.
                ex.ack = Message(ACK, 0, 0)
            ex.event.set()
        return True
