"""The single writer of the device's receipt chain (PROTOCOL.md section 4).

Every receipt gets the next `seq` and the hash of the previous one, is signed with the
device key and made durable in the store before anyone sees it.
"""
import gc

from meldbox.core import receipts


class Ledger:
    def __init__(self, store, signing_key, kid, dev, clock):
        self.store = store
        self.key = signing_key
        self.kid = kid
        self.dev = dev
        self.clock = clock
        self.listeners = []  # called with (seq, kind) after each durable receipt

    def record(self, kind, iss=None, nid=None, nh=None, message=None, reason=None,
               note=None, state=None, claims=None):
        """Sign, chain and commit a receipt; returns (seq, receipt COSE bytes).
        claims: the message's claims as the store applies them (Store.commit)."""
        self.store.catch_up()
        if kind != "delivered":     # intake checked a notice against the larger reserve
            self.store.check_space(notice=False)
        gc.collect()        # the commit opens files: start from a tidy heap
        seq = self.store.seq + 1
        cose = receipts.build(self.key, self.kid, self.dev, seq, self.store.head_hash, kind,
                              self.clock.now(), self.clock.source(), iss=iss, nid=nid, nh=nh,
                              reason=reason, note=note, state=state)
        self.store.commit(seq, cose, message, claims)
        for listener in self.listeners:
            listener(seq, kind)
        return seq, cose

    def status(self, state):
        """The unchained answer to GET /status: seq 0, prev = the chain head."""
        return receipts.build(self.key, self.kid, self.dev, 0, self.store.head_hash, "status",
                              self.clock.now(), self.clock.source(), state=state)

    def checkpoint(self, pseq, ph):
        """Chain a checkpoint receipt before the log up to `pseq` is pruned (PROTOCOL.md
        4): pseq and ph (hash of receipt pseq) let a hotline link what it holds."""
        self.store.catch_up()
        seq = self.store.seq + 1
        cose = receipts.build(self.key, self.kid, self.dev, seq, self.store.head_hash,
                              "checkpoint", self.clock.now(), self.clock.source(),
                              pseq=pseq, ph=ph)
        self.store.commit(seq, cose)
        for listener in self.listeners:
            listener(seq, "checkpoint")
        return seq, cose
