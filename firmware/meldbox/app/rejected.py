"""The last messages the device refused, for the panel (a bounded ring in RAM).

Anyone can send a refused message, so the list must neither trust nor be flooded by
strangers: the issuer a message claims is kept only when a trusted key signed it (else
the panel says the issuer is unknown), and each source address adds at most
PER_SOURCE entries a PER_SOURCE_S window (the rest are only counted).
"""
from meldbox.coap.messagelayer import source_address

MAX_REJECTED = 8
PER_SOURCE = 2
PER_SOURCE_S = 60
MAX_SOURCES = 16


class Rejected:
    def __init__(self):
        self.entries = []   # newest first: (at, issuer or None, reason, detail)
        self.sources = {}   # source address -> [window start, entries in that window]
        self.dropped = 0    # refusals not listed (a source over its share)

    def add(self, at, issuer, err, source=None):
        if source is not None and not self._admit(source_address(source), at):
            self.dropped += 1
            return
        if not getattr(err, "authenticated", False):
            issuer = None
        detail = err.detail if hasattr(err, "detail") else str(err)
        self.entries.insert(0, (at, issuer, err.reason, detail[:80]))
        del self.entries[MAX_REJECTED:]

    def _admit(self, addr, at):
        seen = self.sources.get(addr)
        if seen is None or not 0 <= at - seen[0] < PER_SOURCE_S:
            if seen is None and len(self.sources) >= MAX_SOURCES:
                oldest = min(self.sources, key=lambda a: self.sources[a][0])
                del self.sources[oldest]
            seen = self.sources[addr] = [at, 0]
        if seen[1] >= PER_SOURCE:
            return False
        seen[1] += 1
        return True
