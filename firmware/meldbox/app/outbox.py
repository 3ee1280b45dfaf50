"""Delivering receipts to their issuers' receipt URIs (PROTOCOL.md section 6).

The outbox itself is on flash (Store: o/SEQ markers), so it survives reboots. Per issuer,
receipts go out oldest first; while the oldest one fails, newer ones to that issuer wait,
and retries back off exponentially up to BACKOFF_CAP_S. The back-off restarts after a
reboot (the first attempt after boot goes out at once).
"""
import asyncio
import gc
import time

from meldbox.app.intake import log_exception
from meldbox.core import receipts

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
        self.hotline_ok = None            # last delivery result (panel status bar)

    def poke(self, *_):
        self.wake.set()

    async def run(self):
        while True:
            more = False
            try:
                more = await self.deliver_due()
            except Exception as e:      # out of memory, a flash error: retry, never die
                log_exception("delivering receipts", e)
                gc.collect()
            if more:
                await asyncio.sleep_ms(0)
                continue
            self.wake.clear()
            try:
                await asyncio.wait_for(self.wake.wait(), 1)
            except asyncio.TimeoutError:
                pass

    async def deliver_due(self):
        """One pass: per issuer with a receipt URI, its oldest receipts in order until one
        fails (then that issuer backs off). Each pass reads at most BATCH receipts per
        issuer; True when an issuer has more waiting (the next pass follows at once)."""
        more = False
        now = time.ticks_ms()
        for iss, uri in self.uris.items():
            due = self.retry_at.get(iss)
            if due is not None and time.ticks_diff(due, now) > 0:
                continue
            seqs = self.store.outbox_oldest(iss, BATCH)
            for seq in seqs:
                receipt = self.store.receipt(seq)
                if receipt is None:     # marker without record cannot happen; drop it safely
                    self.store.acknowledged(seq, iss)
                    continue
                if await self.send(uri, receipt):
                    self.store.acknowledged(seq, iss)
                    self.retry_at.pop(iss, None)
                    self.delay.pop(iss, None)
                    self.hotline_ok = True
                else:
                    delay = min(self.delay.get(iss, BACKOFF_FIRST_S // 2) * 2, BACKOFF_CAP_S)
                    self.delay[iss] = delay
                    self.retry_at[iss] = time.ticks_add(time.ticks_ms(), delay * 1000)
                    self.hotline_ok = False
                    break
            else:
                if len(seqs) == BATCH:
                    more = True
        return more
