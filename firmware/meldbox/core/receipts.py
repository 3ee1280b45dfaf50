"""Receipts (PROTOCOL.md section 4): the signed, hash-chained answers a device gives.

build() makes the receipt COSE_Sign1 with a deterministic payload, so the same fields
always give the same bytes (idempotent answers, reproducible test vectors). It checks
its arguments and raises ValueError: a wrong argument here is a bug of ours, not a peer's.
"""
import hashlib

from meldbox.core import cbor, cose, errors

ZERO_HASH = bytes(32)
KINDS = ("delivered", "seen", "removed", "not-ours", "disputed", "cannot-comply",
         "withdrawn", "status", "checkpoint")
CLOCKS = ("rtc", "ntp", "hotline", "untrusted")
REASONS = ("force-majeure", "manifest-error", "missing-info", "other")
KINDS_WITH_NOTE = ("not-ours", "disputed", "cannot-comply")


def chain_hash(cose_bytes):
    """What the next receipt's `prev` holds: SHA-256 of this receipt's COSE bytes."""
    return hashlib.sha256(cose_bytes).digest()


def build(signing_key, kid, dev, seq, prev, kind, at, clock, iss=None, nid=None, nh=None,
          reason=None, note=None, state=None, pseq=None, ph=None):
    """The receipt COSE_Sign1 (bytes). seq 0 is the unchained answer to GET /status;
    it and a checkpoint (pseq, ph: the newest receipt pruned from the log) go without
    iss/nid/nh."""
    if not isinstance(dev, str) or not dev:
        raise ValueError("dev must be a non-empty text")
    _uint("seq", seq)
    _uint("at", at)
    if not isinstance(prev, (bytes, bytearray)) or len(prev) != 32:
        raise ValueError("prev must be 32 bytes")
    if seq == 1 and prev != ZERO_HASH:
        raise ValueError("prev of seq 1 must be 32 zero bytes")
    if kind not in KINDS:
        raise ValueError("unknown receipt kind %r" % (kind,))
    if clock not in CLOCKS:
        raise ValueError("unknown clock source %r" % (clock,))
    answers = (iss, nid, nh)
    if seq == 0:
        if kind != "status" or answers != (None, None, None):
            raise ValueError("seq 0 is only the unchained status answer, without iss/nid/nh")
    elif kind == "checkpoint":
        if answers != (None, None, None):
            raise ValueError("a checkpoint answers no message: no iss/nid/nh")
        _uint("pseq", pseq)
        if pseq >= seq or not isinstance(ph, (bytes, bytearray)) or len(ph) != 32:
            raise ValueError("a checkpoint needs pseq < seq and ph of 32 bytes")
    elif None in answers:
        raise ValueError("a chained receipt needs iss, nid and nh")
    else:
        if not isinstance(iss, str) or not isinstance(nid, (bytes, bytearray)):
            raise ValueError("iss must be text and nid bytes")
        if not isinstance(nh, (bytes, bytearray)) or len(nh) != 32:
            raise ValueError("nh must be 32 bytes")
    if reason is not None and (kind != "cannot-comply" or reason not in REASONS):
        raise ValueError("reason %r is only for cannot-comply, one of %s" % (reason, REASONS))
    if note is not None and (kind not in KINDS_WITH_NOTE or not isinstance(note, str)):
        raise ValueError("note must be text and only for %s" % (KINDS_WITH_NOTE,))
    if kind != "checkpoint" and (pseq, ph) != (None, None):
        raise ValueError("pseq and ph are only for checkpoints")
    if state is not None:
        if kind != "status" or not isinstance(state, dict):
            raise ValueError("state must be a map and only for status")
        for key in state:
            if not isinstance(key, str):
                raise ValueError("state keys must be text, got %r" % (key,))

    payload = {"v": 1, "t": "receipt", "dev": dev, "seq": seq, "prev": bytes(prev),
               "kind": kind, "at": at, "clock": clock}
    if kind == "checkpoint":
        payload["pseq"] = pseq
        payload["ph"] = bytes(ph)
    elif seq:
        payload["iss"] = iss
        payload["nid"] = bytes(nid)
        payload["nh"] = bytes(nh)
    if reason is not None:
        payload["reason"] = reason
    if note is not None:
        payload["note"] = note
    if state is not None:
        payload["state"] = state
    return cose.sign1(cbor.dumps(payload), signing_key, kid)


def decode(cose_bytes):
    """The payload of a receipt as a dict (for the store and the panel; no verification:
    receipts read back are the device's own)."""
    payload = cbor.loads(cose.decode_sign1(cose_bytes).payload)
    if not isinstance(payload, dict) or payload.get("t") != "receipt":
        raise errors.Malformed("cose-structure", "not a receipt")
    return payload


def _uint(name, value):
    if type(value) is not int or value < 0:
        raise ValueError("%s must be an unsigned integer, got %r" % (name, value))
