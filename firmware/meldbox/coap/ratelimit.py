"""The request rate limit of the message layer: a token bucket per source address.

Counted by address, not (address, port): a new source port buys no fresh allowance.
The table is bounded; when it is full and no entry is idle (its bucket full again), a
new address is charged to one shared bucket for all such strangers, so a flood from
many addresses never gets more than one allowance between them.
"""
from collections import OrderedDict
from time import ticks_diff

from meldbox.coap import RATE_BURST, RATE_PEERS, RATE_PER_S
from meldbox.coap.transport import source_address

STRANGERS = "*"     # the shared bucket's key (no address looks like this)
TELL_EVERY_MS = 1000


class RateLimiter:
    """`burst` requests at once, refilled at `per_s` a second (integers, in thousandths)."""

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
