"""Re-notification and device watch, run by `meldbox hotline serve` next to the receipt
endpoint (or alone as `meldbox hotline watch`).

Each pass (`tick`):
- re-sends every notice that is overdue now (docs/hotline-statistics.md) and was last
  sent at least `renotify_after` seconds ago. It sends the very bytes sent before, so the
  device answers with its stored receipt (PROTOCOL.md 5, idempotency) and shows the
  notice again; a device that lost it takes it anew. The ledger counts the send.
- asks each device with a known URI for its /status every `status_every` seconds, and
  flags a device whose /status has not answered for `silent_after` seconds (a finding
  `device-silent`, once per silence).
"""

import asyncio
import json
import sys
import time

from meldbox_host import protocol
from meldbox_host.hotline.send import NoAnswer, get_status, post_notice
from meldbox_host.ledger import stats

DEFAULT_RENOTIFY_AFTER = 24 * 3600  # what the field's hotline tools do
DEFAULT_STATUS_EVERY = 600
DEFAULT_SILENT_AFTER = 3600
DEFAULT_TICK = 60


class Watcher:
    def __init__(
        self,
        ledger,
        renotify_after=DEFAULT_RENOTIFY_AFTER,
        status_every=DEFAULT_STATUS_EVERY,
        silent_after=DEFAULT_SILENT_AFTER,
        out=None,
        err=None,
        timeout=10.0,
        context=None,
        clock=time.time,
    ):
        self.ledger = ledger
        self.renotify_after, self.status_every = renotify_after, status_every
        self.silent_after = silent_after
        self.out, self.err = out, err if err is not None else sys.stderr
        self.timeout, self.context, self.clock = timeout, context, clock
        self.silent = set()  # devices flagged and not heard from since

    def _event(self, **fields):
        if self.out is not None:
            print(json.dumps(dict(event=fields.pop("event"), **fields)), file=self.out, flush=True)

    async def tick(self):
        """One pass -> {"resent": [...refs], "silent": [...devs]}."""
        now = int(self.clock())
        resent = await self._renotify(now) if self.renotify_after else []
        silent = await self._watch_status(now) if self.status_every else []
        return {"resent": resent, "silent": silent}

    async def _renotify(self, now):
        devices = self.ledger.devices()
        report = stats.build_report(self.ledger, now)
        cutoff = now - self.renotify_after
        resent = []
        for o in report["overdue"]:
            uri = (devices.get(o["dev"]) or {}).get("uri")
            row = self.ledger.db.execute(
                "SELECT cose, last_sent, sent_at FROM messages WHERE iss = ? AND id = ?",
                (o["iss"], bytes.fromhex(o["id"])),
            )[0]
            cose, last_sent = bytes(row[0]), row[1] or row[2]
            if uri is None or last_sent > cutoff:
                continue
            claims = protocol.peek_claims(cose)
            try:
                reply = await post_notice(uri, cose, self.timeout, self.context)
            except NoAnswer as exc:
                reply = None
                print("meldbox hotline: re-notify %s: %s" % (o["ref"], exc), file=self.err)
            self.ledger.record_sent(
                claims, cose, sent_at=now, answer=None if reply is None else reply.code
            )
            if reply is not None and reply.content_format == protocol.CF_COSE_SIGN1:
                self._take_receipt(reply.payload, devices[o["dev"]]["pub"])
            resent.append(o["ref"])
            self._event(
                event="renotified",
                dev=o["dev"],
                ref=o["ref"],
                id=o["id"],
                answer=None if reply is None else reply.code,
            )
        return resent

    def _take_receipt(self, cose, pub):
        try:
            receipt = protocol.verify_receipt(cose, pub)
        except protocol.ReceiptError as exc:
            claims = protocol.peek_claims(cose) or {}
            self.ledger.record_finding(
                exc.reason,
                "answer to a re-sent notice: %s" % exc,
                claims.get("dev"),
                claims.get("seq"),
                cose,
            )
            return
        if receipt["seq"] != 0:
            self.ledger.record_receipt(receipt, cose)

    async def _watch_status(self, now):
        flagged = []
        for dev, info in self.ledger.devices().items():
            if info["uri"] is None:
                continue
            tried = info["status_tried"] or 0
            if now - tried >= self.status_every:
                answered = await self._status_answers(info["uri"], info["pub"])
                self.ledger.record_status_try(dev, answered, now)
                info = self.ledger.devices()[dev]
            heard = max(info["status_ok"] or 0, self._last_receipt(dev))
            since = heard or info_added(self.ledger, dev)
            if now - since < self.silent_after:
                self.silent.discard(dev)
                continue
            if dev in self.silent:
                continue
            self.silent.add(dev)
            detail = "no /status answer or receipt since %d%s" % (
                since,
                "" if heard else " (never heard from)",
            )
            self.ledger.record_finding("device-silent", detail, dev, None, None, found=now)
            print("meldbox hotline: %s is silent: %s" % (dev, detail), file=self.err, flush=True)
            self._event(event="device-silent", dev=dev, detail=detail)
            flagged.append(dev)
        return flagged

    async def _status_answers(self, uri, pub):
        try:
            reply = await get_status(uri, timeout=self.timeout, context=self.context)
        except NoAnswer:
            return False
        if not reply.code.startswith("2.") or reply.content_format != protocol.CF_COSE_SIGN1:
            return False
        try:
            protocol.verify_receipt(reply.payload, pub)
        except protocol.ReceiptError:
            return False  # an answer that does not verify is no sign of life
        return True

    def _last_receipt(self, dev):
        rows = self.ledger.db.execute("SELECT MAX(received) FROM receipts WHERE dev = ?", (dev,))
        return rows[0][0] or 0

    async def run(self, every=DEFAULT_TICK, stop=None):
        """tick() every `every` seconds until `stop` (an asyncio.Event) is set."""
        stop = stop or asyncio.Event()
        while not stop.is_set():
            try:
                await self.tick()
            except Exception as exc:  # a pass that failed is retried, the endpoint stays up
                print("meldbox hotline: watch pass failed: %s" % exc, file=self.err, flush=True)
            try:
                await asyncio.wait_for(stop.wait(), every)
            except TimeoutError:
                pass


def info_added(ledger, dev):
    rows = ledger.db.execute("SELECT added FROM devices WHERE dev = ?", (dev,))
    return rows[0][0] if rows else 0
