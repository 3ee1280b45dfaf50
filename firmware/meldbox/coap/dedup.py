"""Duplicate detection of the message layer (RFC 7252 section 4.5): recently seen
(peer, message id) pairs and the reply sent for each, bounded, oldest forgotten first;
entries expire after EXCHANGE_LIFETIME / NON_LIFETIME."""
from collections import OrderedDict
from time import ticks_add, ticks_diff

from meldbox.coap import DEDUP_ENTRIES


class Dedup:
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
