"""Checks of a provisioning request (hardware/PROVISIONING.md), turning it into the
dict that meldbox/app/config.apply_provisioning takes, and the rule for which trusted
keys need a press on the panel before they count.

Every field is checked for type, size and form; anything else is a RequestError and the
request changes nothing. Trusted keys arrive as 64 hex digits.
Which parts need a press: new_anchors (keys that widen trust) here, and
changes.guarded (everything else that changes trust, receipts, network or the clock).
"""
from binascii import unhexlify

from meldbox.core.errors import MalformedError
from meldbox.core.trust import fingerprint  # noqa: F401 (one definition; service and tests use it here)
from meldbox.core.trust import small_order

MAX_KEYS = 16
MAX_ID = 64
MAX_URI = 255
MAX_HOST = 253
LANGS = ("en", "nl")
ZONES = ("UTC", "CET")
# Times a device may be set to: from 2024-01-01 to 2100-01-01 (the DS3231's range ends in 2099).
MIN_TIME = 1704067200
MAX_TIME = 4102444800
FIELDS = ("dev", "trust", "receipts", "lang", "tz", "net", "time")
ID_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_"
HOST_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-"


class RequestError(MalformedError):
    reason = "bad-request"


def _classes(chars):
    return ["A-Z", "a-z", "0-9"] + [c for c in ".-_" if c in chars]


def _text(value, what, maximum, chars=None):
    if not isinstance(value, str) or not 0 < len(value) <= maximum:
        raise RequestError("%s must be text of 1 to %d characters" % (what, maximum))
    if chars is not None:
        for c in value:
            if c not in chars:
                raise RequestError("%s %r has a character other than %s" % (what, value, " ".join(_classes(chars))))  # noqa: E501
    return value


def _int(value, what, low, high):
    # bool is an int subclass on CPython; a JSON true must not pass as a number
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise RequestError("%s must be a whole number from %d to %d" % (what, low, high))
    return value


def _key(entry, i):
    if not isinstance(entry, dict):
        raise RequestError("trust[%d] must be an object" % i)
    for k in entry:
        if k not in ("iss", "key", "not_after", "revoked", "retention_days"):
            raise RequestError("trust[%d] has an unknown field %r" % (i, k))
    iss = _text(entry.get("iss"), "trust[%d].iss" % i, MAX_ID, ID_CHARS)
    key_hex = entry.get("key")
    if not isinstance(key_hex, str) or len(key_hex) != 64:
        raise RequestError("trust[%d].key must be 64 hex digits (a raw Ed25519 public key)" % i)
    try:
        key = unhexlify(key_hex)
    except ValueError:
        raise RequestError("trust[%d].key is not hex" % i)
    if small_order(key):
        raise RequestError("trust[%d].key is a small-order point (such as the identity): "
                           "anyone could sign for it" % i)
    not_after = entry.get("not_after")
    if not_after is not None:
        _int(not_after, "trust[%d].not_after" % i, 0, MAX_TIME)
    revoked = entry.get("revoked", False)
    if not isinstance(revoked, bool):
        raise RequestError("trust[%d].revoked must be true or false" % i)
    out = {"iss": iss, "key": key, "not_after": not_after, "revoked": revoked}
    days = entry.get("retention_days")          # store/retention.py: default 90
    if days is not None:
        out["retention_days"] = _int(days, "trust[%d].retention_days" % i, 1, 36500)
    return out


def _ipv4(value, what):
    parts = value.split(".") if isinstance(value, str) else ()
    if len(parts) != 4:
        raise RequestError("%s must be an IPv4 address such as 192.0.2.10" % what)
    for p in parts:
        if not p or len(p) > 3 or not p.isdigit() or int(p) > 255:
            raise RequestError("%s must be an IPv4 address such as 192.0.2.10" % what)
    return value


def _net(net):
    if not isinstance(net, dict):
        raise RequestError("net must be an object")
    out = {}
    for k in net:
        if k not in ("dhcp", "ip", "gw", "dns", "ntp", "wifi"):
            raise RequestError("net has an unknown field %r" % k)
    dhcp = net.get("dhcp", "ip" not in net)
    if not isinstance(dhcp, bool):
        raise RequestError("net.dhcp must be true or false")
    out["dhcp"] = dhcp
    if dhcp:
        if "ip" in net or "gw" in net:
            raise RequestError("net: a static address (ip, gw) and dhcp exclude each other")
    else:
        addr, slash, prefix = (net.get("ip") or "").partition("/")
        _ipv4(addr, "net.ip")
        if not slash or not prefix.isdigit() or not 8 <= int(prefix) <= 30:
            raise RequestError("net.ip must carry a prefix length, such as 192.0.2.10/24")
        out["ip"] = net["ip"]
        out["gw"] = _ipv4(net.get("gw"), "net.gw")
    if "dns" in net:
        out["dns"] = _ipv4(net["dns"], "net.dns")
    if "ntp" in net:
        out["ntp"] = _text(net["ntp"], "net.ntp", MAX_HOST, HOST_CHARS)
    if "wifi" in net:
        wifi = net["wifi"]
        if not isinstance(wifi, dict) or set(wifi) - {"ssid", "psk"}:
            raise RequestError("net.wifi must be {\"ssid\": ..., \"psk\": ...}")
        ssid = _text(wifi.get("ssid"), "net.wifi.ssid", 32)
        psk = wifi.get("psk", "")
        if not isinstance(psk, str) or not (psk == "" or 8 <= len(psk) <= 63):
            raise RequestError("net.wifi.psk must be empty (open network) or 8 to 63 characters")
        out["wifi"] = {"ssid": ssid, "psk": psk}
    return out


def parse(req):
    """Check a `provision` request; returns (prov, time or None)."""
    for k in req:
        if k not in FIELDS and k not in ("id", "op"):
            raise RequestError("unknown field %r" % k)
    prov = {}
    if "dev" in req:
        prov["dev"] = _text(req["dev"], "dev", MAX_ID, ID_CHARS)
    if "trust" in req:
        trust = req["trust"]
        if not isinstance(trust, list) or len(trust) > MAX_KEYS:
            raise RequestError("trust must be a list of at most %d keys" % MAX_KEYS)
        prov["trust"] = [_key(e, i) for i, e in enumerate(trust)]
        seen = set()
        for e in prov["trust"]:
            if (e["iss"], e["key"]) in seen:
                raise RequestError("trust lists the key of %s twice" % e["iss"])
            seen.add((e["iss"], e["key"]))
    if "receipts" in req:
        uris = req["receipts"]
        if not isinstance(uris, dict) or len(uris) > MAX_KEYS:
            raise RequestError("receipts must map at most %d issuers to coap:// URIs" % MAX_KEYS)
        for iss, uri in uris.items():
            _text(iss, "receipts issuer", MAX_ID, ID_CHARS)
            _text(uri, "receipts[%s]" % iss, MAX_URI)
            if not uri.startswith("coap://") or len(uri) <= 7:
                raise RequestError("receipts[%s] must be a coap:// URI" % iss)
        prov["receipts"] = dict(uris)
    if "lang" in req:
        if req["lang"] not in LANGS:
            raise RequestError("lang must be one of %s" % ", ".join(LANGS))
        prov["lang"] = req["lang"]
    if "tz" in req:
        if req["tz"] not in ZONES:
            raise RequestError("tz must be one of %s" % ", ".join(ZONES))
        prov["tz"] = req["tz"]
    if "net" in req:
        prov["net"] = _net(req["net"])
    when = None
    if "time" in req:
        when = _int(req["time"], "time", MIN_TIME, MAX_TIME)
    if not prov and when is None:
        raise RequestError("nothing to provision")
    return prov, when


def _later(a, b):
    """Is not-after `a` later than `b`? None means no end."""
    if a is None:
        return b is not None
    return b is not None and a > b


def new_anchors(current, entries):
    """The entries that widen trust, and so need a press on the panel: a key not trusted
    yet for its issuer, a revoked key trusted again, or a later not-after. Revoking a
    key, shortening its life or dropping it needs no press."""
    out = []
    for e in entries:
        old = None
        for c in current:
            if c["iss"] == e["iss"] and bytes(c["key"]) == e["key"]:
                old = c
                break
        if old is None or (old.get("revoked") and not e["revoked"]) \
                or (not e["revoked"] and _later(e["not_after"], old.get("not_after"))):
            out.append(e)
    return out

