"""Block-wise transfers (RFC 7959): Block1 reassembly of request bodies (section 2.3
and 2.5) and Block2 slicing of large responses (section 2.4).

A transfer is keyed by peer, method, path and Request-Tag. Blocks must arrive in order
(NUM times the block size equals the bytes received so far; the client may switch to
a smaller size on the way). The slot table is bounded in total and per source address,
idle slots expire, and no body grows beyond MAX_BODY (see Reassembler).
"""
from time import ticks_diff

from meldbox import heap
from meldbox.coap import (MAX_BODY, REASSEMBLY_IDLE_MS, REASSEMBLY_SLOTS,
                          REASSEMBLY_SLOTS_PER_PEER)
from meldbox.coap.message import BLOCK2, SIZE2, block_fields, block_size, block_value
from meldbox.coap.resource import Response, problem
from meldbox.coap.messagelayer import source_address
from meldbox.core import errors

OUT_OF_MEMORY_MAX_AGE = 5    # seconds; a retry after the next garbage collection may fit
SMALL_BODY = 1024            # bodies up to one block grow on the heap; larger ones get the
                             # reserved buffer (their progress shows they need it)
STALL_MS = 5000              # a holder of the reserved buffer that stalls this long loses it,
OVERTAKE_MS = 1000           # or this long, to a transfer that has come further


# Refusals (one class per CoAP code, the reason a field: a class costs heap, errors.py):
# 4.00 bad-block, a Block1 option that breaks RFC 7959 (reserved SZX, wrong block length);
# 4.08 block-incomplete, a block out of order or a continuation without its start; 4.13
# too-large, a body (or one announced by Size1) larger than MAX_BODY, Size1 saying so;
# 5.03 busy, no memory for a request body now, Max-Age saying when to try again.
def incomplete(detail):
    return errors.Refusal(errors.REQUEST_ENTITY_INCOMPLETE, "block-incomplete",
                          "Request Entity Incomplete", detail)


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
    def __init__(self, key, addr, now, first):
        self.key = key
        self.addr = addr            # source address: slots are counted per address
        self.body = bytearray(first)
        self.pooled = False         # body is the reserved buffer
        self.fill = 0
        self.first = first          # bytes in block 0
        self.last = now             # ticks of the last progress (a new block, not a repeat)

    def content(self):
        if self.pooled or self.fill != len(self.body):
            return memoryview(self.body)[:self.fill]
        return self.body


class Reassembler:
    """Block1 transfers in progress. Strangers must not hold them: slots are counted per
    source address (a new port is no new peer); when all are taken, a new transfer
    replaces the one that progressed least recently (LRU), and a transfer idle for
    `idle_ms` is forgotten (transfers still at block 0 are replaced first, from the
    address holding the most slots). A repeated block 0 restarts its transfer but does not count
    as progress, so it keeps nothing alive. The reserved body buffer goes only to a
    transfer whose progress shows it needs it (more than SMALL_BODY bytes: a full 1 KiB
    block 0 with more to come, or the body so far); a holder that stalls for STALL_MS
    (OVERTAKE_MS when the other has come further) loses it, and its transfer, to one
    that needs it."""

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
        self.holder = None          # the incomplete transfer holding the spare
        self.lent = None            # the finished body lent to a handler

    def release(self, body):
        """The handler is done with `body`: the reserved buffer may serve the next transfer."""
        if body is not None and body is self.lent:
            self.lent = None

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
            raise errors.Malformed("bad-block", "Block1 SZX 7 is reserved")
        size = block_size(szx)
        n = len(payload)
        if (more and n != size) or n > size:
            self._drop(key)
            raise errors.Malformed("bad-block", "block of %d bytes where SZX says %d" % (n, size))
        now = self.clock()
        self._expire(now)
        if num == 0:
            if size1 is not None and size1 > self.max_body:
                self._drop(key)
                raise errors.TooLarge("Size1 announces %d bytes; at most %d"
                                      % (size1, self.max_body))
            slot = self._start(key, source_address(peer), now, n)
            if more and n >= SMALL_BODY:
                self._room(slot, n + 1, now)    # a full 1 KiB block and more: it will need it
        else:
            slot = self._find(key)
            if slot is None:
                raise incomplete("block %d without the blocks before it" % num)
            if num * size != slot.fill:
                self._drop(key)
                raise incomplete("block %d of %d bytes does not follow the %d bytes received"
                                      % (num, size, slot.fill))
            slot.last = now
        end = slot.fill + n
        if end > self.max_body:
            self._drop(key)
            raise errors.TooLarge("request body larger than %d bytes" % self.max_body)
        try:
            self._room(slot, end, now)
        except MemoryError:
            self._drop(key)
            raise errors.busy("out of memory for the request body", OUT_OF_MEMORY_MAX_AGE)
        slot.body[slot.fill:end] = payload
        slot.fill = end
        if more:
            return None
        self.slots.remove(slot)
        body = slot.content()
        if slot.pooled:
            self.holder = None
            self.lent = body
        return body

    def _room(self, slot, end, now):
        """Make slot.body hold `end` bytes: the reserved buffer once the body outgrows
        SMALL_BODY (if it is free, or its holder stalled), else a bigger bytearray."""
        if end <= len(slot.body):
            return
        if end > SMALL_BODY and self.lent is None:
            holder = self.holder
            if holder is not None and holder is not slot:
                idle = ticks_diff(now, holder.last)
                if idle >= STALL_MS or (idle >= OVERTAKE_MS and holder.fill < end):
                    self._remove(holder)    # stalled or overtaken: its next block gets 4.08
                    holder = None
            if holder is None:
                self.spare[:slot.fill] = slot.body[:slot.fill]
                slot.body, slot.pooled = self.spare, True
                self.holder = slot
                return
        grown = bytearray(end)
        grown[:slot.fill] = slot.body[:slot.fill]
        slot.body = grown

    def _start(self, key, addr, now, first):
        old = self._find(key)
        if old is not None:
            self._remove(old)       # block 0 again restarts the transfer...
        mine = [s for s in self.slots if s.addr == addr]
        if len(mine) >= self.per_peer:
            self._remove(self._least_recent(mine))    # an address displaces only its own
        elif len(self.slots) >= self.max_slots:
            # Transfers that never got past block 0 go first (a flood of block 0s costs
            # the flooders, not a transfer under way), then the least recently progressed.
            # Among those, the address holding the most slots gives one up: many
            # flooding addresses displace each other before a single genuine transfer.
            pool = [s for s in self.slots if s.fill <= s.first] or self.slots
            counts = {}
            for s in pool:
                counts[s.addr] = counts.get(s.addr, 0) + 1
            most = max(counts.values())
            self._remove(self._least_recent([s for s in pool if counts[s.addr] == most]))
        try:
            slot = _Slot(key, addr, now, first)
        except MemoryError:
            raise errors.busy("out of memory for the request body", OUT_OF_MEMORY_MAX_AGE)
        if old is not None:
            slot.last = old.last    # ...but is no progress: it keeps nothing alive
        self.slots.append(slot)
        return slot

    def _least_recent(self, slots):
        now = self.clock()
        return max(slots, key=lambda s: ticks_diff(now, s.last))

    def _find(self, key):
        for s in self.slots:
            if s.key == key:
                return s
        return None

    def _drop(self, key):
        s = self._find(key)
        if s is not None:
            self._remove(s)

    def _remove(self, slot):
        self.slots.remove(slot)
        if slot is self.holder:
            self.holder = None

    def _expire(self, now):
        for s in [s for s in self.slots if ticks_diff(now, s.last) >= self.idle_ms]:
            self._remove(s)
