"""Delivering receipts to their issuers' receipt URIs (PROTOCOL.md section 6).

The outbox itself is on flash (the store's o/ markers), so it survives reboots. Each
issuer is served by its own task: per issuer, receipts go out oldest first; while the
oldest one fails, newer ones to that issuer wait, and retries back off exponentially up
to BACKOFF_CAP_S. One unreachable issuer (a delivery attempt can take 93 s) never holds
up the receipts of the others. The back-off restarts after a reboot.
"""
import asyncio
import gc
import time

from meldbox import log_exception
from meldbox.store import outbox as markers

BACKOFF_FIRST_S = 2
BACKOFF_CAP_S = 300
BATCH = 16


class Outbox:
    def __init__(self, store, send, receipt_uris):
        self.store = store
        self.send = send                  # async (uri, payload) -> bool (acknowledged)
        self.uris = receipt_uris          # issuer -> coap:// URI
        self.wake = asyncio.Event()
        self.retry_at = {}                # issuer -> ticks_ms of the next attempt
        self.delay = {}                   # issuer -> current back-off, seconds
        self.busy = set()                 # issuers whose delivery task is running
        self.hotline_ok = None            # last delivery result (panel status bar)

    def poke(self, *_):
        self.wake.set()

    async def run(self):
        while True:
            self.start_due()
            self.wake.clear()
            try:
                await asyncio.wait_for(self.wake.wait(), 1)
            except asyncio.TimeoutError:
                pass

    def start_due(self):
        """Start a delivery task for every issuer that is due and not already running."""
        now = time.ticks_ms()
        for iss, uri in self.uris.items():
            if iss in self.busy:
                continue
            due = self.retry_at.get(iss)
            if due is not None and time.ticks_diff(due, now) > 0:
                continue
            self.busy.add(iss)
            asyncio.create_task(self._deliver(iss, uri))

    async def _deliver(self, iss, uri):
        try:
            more = await self.deliver_issuer(iss, uri)
        except Exception as e:      # out of memory, a flash error: retry, never die
            log_exception("delivering receipts to %s" % iss, e)
            gc.collect()
            more = False
        finally:
            self.busy.discard(iss)
        if more:
            self.wake.set()         # the next batch follows at once

    async def deliver_issuer(self, iss, uri):
        """This issuer's oldest receipts in order until one fails (then it backs off).
        Reads at most BATCH receipts; True when more are waiting."""
        seqs = markers.oldest(self.store, iss, BATCH)
        for seq in seqs:
            receipt = self.store.receipt(seq)
            if receipt is None:     # marker without record cannot happen; drop it safely
                markers.acknowledged(self.store, seq, iss)
                continue
            if await self.send(uri, receipt):
                markers.acknowledged(self.store, seq, iss)
                self.retry_at.pop(iss, None)
                self.delay.pop(iss, None)
                self.hotline_ok = True
            else:
                delay = min(self.delay.get(iss, BACKOFF_FIRST_S // 2) * 2, BACKOFF_CAP_S)
                self.delay[iss] = delay
                self.retry_at[iss] = time.ticks_add(time.ticks_ms(), delay * 1000)
                self.hotline_ok = False
                return False
        return len(seqs) == BATCH
