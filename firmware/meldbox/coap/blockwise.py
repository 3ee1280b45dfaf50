"""Block-wise transfers (RFC 7959): Block1 reassembly of request bodies (section 2.3
and 2.5) and Block2 slicing of large responses (section 2.4).

A transfer is keyed by peer, method, path and Request-Tag. Blocks must arrive in order
(NUM times the block size equals the bytes received so far; the client may switch to
a smaller size on the way). The slot table is bounded in total and per peer, idle
slots expire, and no body grows beyond MAX_BODY.
"""
from time import ticks_add, ticks_diff

from meldbox import heap
from meldbox.coap import (MAX_BODY, REASSEMBLY_IDLE_MS, REASSEMBLY_SLOTS,
                          REASSEMBLY_SLOTS_PER_PEER)
from meldbox.coap.message import BLOCK2, SIZE2, block_fields, block_size, block_value
from meldbox.coap.resource import Response, problem
from meldbox.core import errors

OUT_OF_MEMORY_MAX_AGE = 5    # seconds; a retry after the next garbage collection may fit


class BlockIncomplete(errors.ProtocolError):
    """4.08: a block out of order, or a continuation without its start."""
    code = errors.REQUEST_ENTITY_INCOMPLETE
    reason = "block-incomplete"
    title = "Request Entity Incomplete"


class BodyTooLarge(errors.TooLarge):
    """4.13: the body is (or is announced as) larger than MAX_BODY; Size1 tells the limit."""
    size1 = MAX_BODY


class BadBlock(errors.MalformedError):
    """4.00: a Block1 option that breaks RFC 7959 (reserved SZX, wrong block length)."""
    reason = "bad-block"


class NoSlot(errors.Busy):
    """5.03: all reassembly slots are taken; Max-Age says when one frees up."""


def block2(msg, resp, extra, max_szx):
    """The block of `resp` that request `msg` asks for (its Block2 option; the first
    when it has none), appending Block2 and Size2 to `extra`; `resp` itself when it fits
    one block of SZX `max_szx` and no block was asked for."""
    payload = resp.payload
    requested = msg.uint(BLOCK2)
    num, szx = 0, max_szx
    if requested is not None:
        num, _, szx = block_fields(requested)
        if szx == 7:
            return problem(errors.BAD_REQUEST, "Bad Request", "Block2 SZX 7 is reserved")
        szx = min(szx, max_szx)
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


class _Slot:
    def __init__(self, key, peer, expires, size_hint, buf=None):
        self.key = key
        self.peer = peer
        # The reserved body buffer when it is free (no allocation at all), else one
        # allocation when Size1 announced the size (growing by reallocation needs old
        # and new buffer at once); bytes beyond `fill` are not part of the body.
        self.pooled = buf is not None
        self.body = buf if buf is not None else bytearray(size_hint)
        self.fill = 0
        self.expires = expires

    def append(self, data):
        end = self.fill + len(data)
        if end <= len(self.body):
            self.body[self.fill:end] = data
        else:
            self.body[self.fill:] = data
        self.fill = end

    def content(self):
        if self.pooled or self.fill != len(self.body):
            return memoryview(self.body)[:self.fill]
        return self.body


class Reassembler:
    def __init__(self, clock, max_body=MAX_BODY, slots=REASSEMBLY_SLOTS,
                 slots_per_peer=REASSEMBLY_SLOTS_PER_PEER, idle_ms=REASSEMBLY_IDLE_MS):
        self.clock = clock          # () -> ms ticks (time.ticks_ms or a test's clock)
        self.max_body = max_body
        self.max_slots = slots
        self.per_peer = slots_per_peer
        self.idle_ms = idle_ms
        self.slots = []
        # One body buffer of max_body bytes reserved at boot (meldbox/heap.py): an 8 KiB
        # notice needs no large allocation from a fragmented heap. Lent to one transfer
        # at a time, and to its handler until the endpoint calls release().
        self.spare = heap.take("coap.body", max_body)
        self.spare_free = True
        self.lent = None

    def release(self, body):
        """The handler is done with `body`: the reserved buffer may serve the next transfer."""
        if body is not None and body is self.lent:
            self.lent = None
            self.spare_free = True

    def __len__(self):
        return len(self.slots)

    def feed(self, key, peer, block1, payload, size1=None):
        """Take one block (`block1` is the option's integer value; `size1` the Size1
        option, if any). Returns the whole body (bytearray or memoryview) after the last
        block, None while more are expected; raises a ProtocolError (4.00, 4.08, 4.13,
        5.03) and forgets the transfer on error."""
        num, more, szx = block_fields(block1)
        if szx == 7:
            self._drop(key)
            raise BadBlock("Block1 SZX 7 is reserved")
        size = block_size(szx)
        n = len(payload)
        if (more and n != size) or n > size:
            self._drop(key)
            raise BadBlock("block of %d bytes where SZX says %d" % (n, size))
        now = self.clock()
        self._expire(now)
        if num == 0:
            if size1 is not None and size1 > self.max_body:
                raise BodyTooLarge("Size1 announces %d bytes; at most %d" % (size1, self.max_body))
            slot = self._start(key, peer, now, size1 or 0)
        else:
            slot = self._find(key)
            if slot is None:
                raise BlockIncomplete("block %d without the blocks before it" % num)
            if num * size != slot.fill:
                self._drop(key)
                raise BlockIncomplete("block %d of %d bytes does not follow the %d bytes received"
                                      % (num, size, slot.fill))
        if slot.fill + n > self.max_body:
            self._drop(key)
            raise BodyTooLarge("request body larger than %d bytes" % self.max_body)
        try:
            slot.append(payload)
        except MemoryError:
            self._drop(key)
            raise NoSlot("out of memory for the request body", OUT_OF_MEMORY_MAX_AGE)
        slot.expires = ticks_add(now, self.idle_ms)
        if more:
            return None
        self.slots.remove(slot)
        body = slot.content()
        if slot.pooled:
            self.lent = body
        return body

    def _start(self, key, peer, now, size_hint):
        self._drop(key)   # block 0 again restarts the transfer
        mine = [s for s in self.slots if s.peer == peer]
        if len(mine) >= self.per_peer:
            # A peer at its own limit only displaces its own oldest transfer.
            self.slots.remove(min(mine, key=lambda s: ticks_diff(s.expires, now)))
        elif len(self.slots) >= self.max_slots:
            soonest = min(ticks_diff(s.expires, now) for s in self.slots)
            raise NoSlot("all %d reassembly slots are in use" % self.max_slots,
                         max(1, (soonest + 999) // 1000))
        buf = None
        if self.spare_free and size_hint <= len(self.spare):
            buf, self.spare_free = self.spare, False
        try:
            slot = _Slot(key, peer, ticks_add(now, self.idle_ms), size_hint, buf)
        except MemoryError:
            raise NoSlot("out of memory for the request body", OUT_OF_MEMORY_MAX_AGE)
        self.slots.append(slot)
        return slot

    def _find(self, key):
        for s in self.slots:
            if s.key == key:
                return s
        return None

    def _drop(self, key):
        s = self._find(key)
        if s is not None:
            self.slots.remove(s)
            self._free(s)

    def _free(self, slot):
        if slot.pooled:
            self.spare_free = True

    def _expire(self, now):
        live = []
        for s in self.slots:
            if ticks_diff(s.expires, now) > 0:
                live.append(s)
            else:
                self._free(s)
        self.slots = live
