"""Taking in a hotline's message: verify, deduplicate, commit, answer (PROTOCOL.md 2, 3, 5).

`receive` either returns (CoAP code, receipt) after the receipt is durable, or raises a
ProtocolError having changed nothing.
"""
import gc
import time

from meldbox import heap, log_exception
from meldbox.coap.messagelayer import RateLimiter
from meldbox.core import cbor, cose, errors
from meldbox.core.messages import verify_message
from meldbox.store.messages import message
from meldbox.store.store import applied_claims

CREATED = 0x41   # 2.01
CHANGED = 0x44   # 2.04
MAX_MESSAGE = 8192
VERIFY_BURST = 5
VERIFY_PER_S = 2
VERIFY_PEERS = 16
RECEIPT_KIND = {"notice": "delivered", "withdraw": "withdrawn", "ping": "status"}


class Intake:
    def __init__(self, ledger, trust, clock, rejected=None, on_event=None):
        self.ledger = ledger
        self.store = ledger.store
        self.trust = trust
        self.clock = clock
        self.rejected = rejected      # Rejected log for the panel
        self.on_event = on_event      # called (kind, key) after a new message is durable
        # Bad signatures cost a full Ed25519 verify each: an address gets VERIFY_BURST,
        # then VERIFY_PER_S a second (a verify that succeeds, or is not reached, is free).
        self.verify_budget = RateLimiter(time.ticks_ms, VERIFY_BURST, VERIFY_PER_S,
                                         VERIFY_PEERS)
        self.retention = None         # store/retention.Retention: stale rule, make room

    def receive(self, raw, state=None, source=None):
        """`source`: the sender's address (the rejected list and the verify budget count
        by it)."""
        if source is not None:
            wait_s = self.verify_budget.take(source)
            if wait_s:
                raise errors.too_many_requests("too many bad signatures from this address; "
                                               "retry in %d s" % wait_s, wait_s)
        try:
            try:
                result = self._receive(raw, state)
            except MemoryError:
                # The first attempt's objects are garbage now: collect them all and try
                # once more (nothing was committed, or a commit is found by the retry and
                # answered with its stored receipt). A second MemoryError means 5.03.
                gc.collect()
                result = self._receive(raw, state)
        except errors.ProtocolError as e:
            # a bad signature spent the verify for nothing: no refund
            if source is not None and e.reason != "bad-signature":
                self.verify_budget.refund(source)
            self._rejected(raw, e, source)
            raise
        if source is not None:
            self.verify_budget.refund(source)
        return result

    def _rejected(self, raw, e, source):
        if self.rejected is not None:
            claimed = _claimed_issuer(raw, e) if getattr(e, "authenticated", False) else None
            self.rejected.add(self.clock.now(), claimed, e, source)

    def _receive(self, raw, state):
        if len(raw) > MAX_MESSAGE:
            raise errors.TooLarge("COSE object of %d bytes, at most %d" % (len(raw), MAX_MESSAGE))
        msg = verify_message(raw, self.trust, self.ledger.dev, self.clock.now(), self.clock.trusted())  # noqa: E501
        heap.sample()
        self.store.catch_up()
        self.clock.observe_iat(msg.iat, msg.iss)
        code = CREATED if msg.t == "notice" else CHANGED
        known = message(self.store, msg.iss, msg.id)
        if known is not None:
            if known["nh"] != msg.nh:
                raise errors.Conflict("id-reused", "id %s of %s was used before for another "
                                      "message" % (msg.id.hex(), msg.iss))
            return code, known["receipt"]
        if self.retention is not None:
            self.retention.check_fresh(msg)
        if msg.t == "notice":
            self._check_space()
        kind = RECEIPT_KIND[msg.t]
        claims = applied_claims(msg)
        if msg.t == "notice":
            # The commit needs only `claims`: a big notice's 64 decoded items (about 10 KiB
            # at 64 bits) are let go before the receipt is signed and the record written.
            msg.items = None
        seq, receipt = self.ledger.record(kind, iss=msg.iss, nid=msg.id, nh=msg.nh, message=raw,
                                          state=state() if (kind == "status" and state) else None,
                                          claims=claims)
        if self.on_event is not None:
            try:
                self.on_event(msg, seq)
            except Exception as e:   # the receipt is durable: the answer stays 2.0x
                log_exception("after taking in seq %d" % seq, e)
        return code, receipt


    def _check_space(self):
        """Never refuse for space that compaction could free: compact first, then decide."""
        try:
            self.store.check_space()
        except errors.StoreFull:
            if self.retention is None or not self.retention.compact():
                raise
            self.store.check_space()


def _claimed_issuer(raw, err):
    """Best effort: the issuer a refused message claims, for the panel's rejected list."""
    if isinstance(err, errors.TooLarge):
        return "?"
    try:
        claims = cbor.loads(cose.decode_sign1(raw).payload)
        iss = claims.get("iss") if isinstance(claims, dict) else None
        return iss if isinstance(iss, str) and len(iss) <= 64 else "?"
    except Exception:
        return "?"
