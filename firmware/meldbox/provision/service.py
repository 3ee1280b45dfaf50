"""The provisioning service: answers framed JSON requests on the serial link.

Requests (one JSON object per frame, `id` echoed in every answer):
  {"id": 1, "op": "info"}                       device key, firmware, storage, clock, trust
  {"id": 2, "op": "provision", "dev": ..., "trust": [...], "receipts": {...},
   "lang": ..., "tz": ..., "net": {...}, "time": POSIX}          (request.py checks them)
Answers: {"id", "ok": true, ...} or {"id", "ok": false, "error": reason, "code": "4.00",
"detail": text}. A request that would trust a new key, or change anything else of what
the device trusts, whom it reports to or its clock (dev, other trusted keys, receipts,
net, time: changes.guarded), first gets {"id", "pending": "confirm", "keys":
[...], "changes": [...]} while the panel shows them; the final answer follows the press
(A accepts, B rejects) or the timeout. Until then nothing changes, and a refused request
changes nothing at all. Only lang and tz (how the panel shows things) apply at once.

`device` is the service's view of the appliance (device.py on the app; tests use their
own): config(), apply(prov), set_time(t), info(), confirm(rows, on_done), cancel_confirm().
"""
import json
import time

from meldbox.core.errors import (FORBIDDEN, INTERNAL_SERVER_ERROR, SERVICE_UNAVAILABLE,
                                 MalformedError, ProtocolError, code_text)
from meldbox.provision import framing, request

CONFIRM_TIMEOUT_MS = 120000


class UnknownOp(MalformedError):
    reason = "unknown-op"


class Busy(ProtocolError):
    code = SERVICE_UNAVAILABLE
    reason = "busy"
    title = "Service Unavailable"


class NoPanel(ProtocolError):
    code = SERVICE_UNAVAILABLE
    reason = "no-panel"
    title = "Service Unavailable"


class DeviceFault(ProtocolError):
    code = INTERNAL_SERVER_ERROR
    reason = "device-fault"
    title = "Internal Server Error"


class NotConfirmed(ProtocolError):
    code = FORBIDDEN
    reason = "not-confirmed"
    title = "Forbidden"


def _problem(rid, err):
    return {"id": rid, "ok": False, "error": err.reason, "code": code_text(err.code),
            "detail": err.detail}


class ProvisionService:
    def __init__(self, link, device, confirm_timeout_ms=CONFIRM_TIMEOUT_MS, max_body=framing.MAX_BODY):  # noqa: E501
        self.link = link
        self.device = device
        self.confirm_timeout_ms = confirm_timeout_ms
        self.max_body = max_body
        self.decoder = None     # made by feed() (the app's listener.py cuts frames itself)
        self.pending = None     # (id, prov, time, deadline ticks) while the panel asks
        self.decision = None    # True/False once the panel has answered

    # --- output -----------------------------------------------------------------------
    def send(self, obj):
        body = json.dumps(obj).encode()
        if len(body) > self.max_body:
            body = json.dumps(_problem(obj.get("id"), framing.too_large(
                "answer of %d bytes does not fit a frame" % len(body)))).encode()
        framing.write_frame(self.link.write, body, self.max_body)

    # --- input ------------------------------------------------------------------------
    def feed(self, data):
        """Take bytes from the link; answers every complete frame."""
        if self.decoder is None:
            self.decoder = framing.Decoder(self.max_body)
        for item in self.decoder.feed(data):
            self.answer(item)

    def answer(self, item):
        """Answer one item of framing.Decoder.feed: a frame's body, or its error."""
        if isinstance(item, ProtocolError):
            self.send(_problem(None, item))
        else:
            self.handle(item)

    def handle(self, body):
        rid = None
        try:
            try:
                req = json.loads(str(body, "utf-8"))
            except (ValueError, UnicodeError):
                raise request.RequestError("frame body is not JSON")
            if not isinstance(req, dict):
                raise request.RequestError("a request is a JSON object")
            rid = req.get("id")
            if rid is not None and (not isinstance(rid, int) or isinstance(rid, bool)
                                    or not 0 <= rid < 1 << 31):
                rid = None
                raise request.RequestError("id must be a whole number below 2**31")
            op = req.get("op")
            if op == "info":
                answer = {"id": rid, "ok": True}
                try:
                    answer.update(self.device.info())
                except OSError as e:
                    raise DeviceFault("could not read the device state: %s" % e)
                self.send(answer)
            elif op == "provision":
                self.provision(rid, req)
            else:
                raise UnknownOp("op must be info or provision, not %r" % (op,))
        except ProtocolError as e:
            self.send(_problem(rid, e))

    def provision(self, rid, req):
        if self.pending is not None:
            raise Busy("another provisioning request waits for the panel")
        prov, when = request.parse(req)
        cfg = self.device.config()
        fresh = request.new_anchors(cfg["trust"], prov.get("trust", ()))
        # not imported at boot: see changes.py
        from meldbox.provision.changes import guarded
        changes = guarded(cfg, prov, when)
        if not fresh and not changes:
            self.send(self.apply(rid, prov, when))
            return
        keys = [{"iss": e["iss"], "fingerprint": request.fingerprint(e["key"]),
                 "not_after": e["not_after"]} for e in fresh]
        self.decision = None
        # the panel shows the new keys, then the other changes; raises NoPanel when it cannot ask
        self.device.confirm(keys + changes, self._decided)
        self.pending = (rid, prov, when, time.ticks_add(time.ticks_ms(), self.confirm_timeout_ms))
        answer = {"id": rid, "pending": "confirm", "keys": keys,
                  "timeout_s": self.confirm_timeout_ms // 1000}
        if changes:
            answer["changes"] = changes
        self.send(answer)

    def _decided(self, accepted):
        if self.pending is not None and self.decision is None:
            self.decision = bool(accepted)

    def apply(self, rid, prov, when):
        """Apply a checked request: the configuration (the part that can still be refused
        for its content), then the clock."""
        try:
            if prov:
                self.device.apply(prov)
        except ValueError as e:
            return _problem(rid, request.RequestError(str(e)))
        except OSError as e:
            return _problem(rid, DeviceFault("could not save the change: %s" % e))
        if when is not None:
            try:
                self.device.set_time(when)
            except (OSError, ValueError) as e:
                return _problem(rid, DeviceFault("%s saved, but the clock could not be set: %s"
                                                 % (", ".join(sorted(prov)) or "nothing", e)))
        return {"id": rid, "ok": True, "applied": sorted(prov) + (["time"] if when is not None else [])}  # noqa: E501

    def tick(self):
        """Finish a pending request once the panel answered or the time ran out."""
        if self.pending is None:
            return
        rid, prov, when, deadline = self.pending
        if self.decision is None and time.ticks_diff(deadline, time.ticks_ms()) > 0:
            return
        decision = self.decision
        self.pending = None
        self.decision = None
        if decision:
            self.send(self.apply(rid, prov, when))
            return
        if decision is None:
            self.device.cancel_confirm()
            err = NotConfirmed("nobody confirmed the change on the panel in time")
        else:
            err = NotConfirmed("the change was refused on the panel")
        self.send(_problem(rid, err))
