"""Scapy layers for Meldbox traffic: CoAP (scapy.contrib.coap, UDP port 5683) carrying
COSE_Sign1 (Content-Format 18) with the notice or receipt claims inside, or RFC 9290
problem details (Content-Format 257).

Layers are declared with fields; CBOR items are decoded with cbor2, only CBOR heads
(major type and argument) are read here. Typical use:

    pkt = dissect(datagram)             # CoAP / COSESign1, claims in pkt[MeldboxClaims]
    pkt[MeldboxClaims].as_dict()        # {'v': 1, 't': 'notice', ...}
    pkt.show()                          # every claim listed
    for line in summaries(rdpcap("x.pcap")): print(line)
"""

import datetime
import io
import struct
from typing import Any

import cbor2
from scapy.config import conf
from scapy.contrib.coap import CoAP, coap_codes
from scapy.fields import Field, PacketLenField, PacketListField, StrLenField, XStrLenField
from scapy.layers.inet import UDP
from scapy.packet import Packet, bind_bottom_up, bind_layers

COAP_PORT = 5683
CF_COSE_SIGN1 = b"\x12"  # 18, as scapy.contrib.coap keeps option values: bytes
CF_PROBLEM_DETAILS = b"\x01\x01"  # 257
MAJOR_BYTES, MAJOR_ARRAY, MAJOR_MAP, MAJOR_TAG = 2, 4, 5, 6
TIME_CLAIMS = ("iat", "due", "at", "preserve")


# --- CBOR heads -----------------------------------------------------------------------------
def cbor_head(s: bytes) -> tuple[int, int, int]:
    """(major type, argument, head length) of the CBOR item at the start of s.
    ValueError on a truncated head or an indefinite/reserved length."""
    if not s:
        raise ValueError("no CBOR item")
    major, info = s[0] >> 5, s[0] & 31
    if info < 24:
        return major, info, 1
    if info > 27:
        raise ValueError("indefinite or reserved CBOR length")
    n = 1 << (info - 24)
    if len(s) < 1 + n:
        raise ValueError("truncated CBOR head")
    return major, int.from_bytes(s[1 : 1 + n], "big"), 1 + n


def encode_head(major: int, value: int) -> bytes:
    if value < 24:
        return bytes([major << 5 | value])
    for info, fmt in ((24, ">B"), (25, ">H"), (26, ">I"), (27, ">Q")):
        if value < 1 << (8 * struct.calcsize(fmt)):
            return bytes([major << 5 | info]) + struct.pack(fmt, value)
    raise ValueError("CBOR argument too large")


class CBORHeadField(Field):
    """The head of a CBOR item of one major type; its value is the head's argument (a
    length, a count or a tag number). Left None, it is computed at build time from
    another field (`length_of` bytes or packets, `count_of` list entries) or `fixed`."""

    __slots__ = ["major", "length_of", "count_of", "fixed"]

    def __init__(self, name, default, major, length_of=None, count_of=None, fixed=None):
        Field.__init__(self, name, default)
        self.major, self.length_of, self.count_of, self.fixed = major, length_of, count_of, fixed

    def getfield(self, pkt, s):
        major, arg, n = cbor_head(s)
        if major != self.major:
            raise ValueError("CBOR major type %d where %d was expected" % (major, self.major))
        return s[n:], arg

    def addfield(self, pkt, s, val):
        return s + encode_head(self.major, self.i2m(pkt, val))

    def i2m(self, pkt, x):
        if x is not None:
            return x
        if self.length_of is not None:
            fld, value = pkt.getfield_and_val(self.length_of)
            return len(fld.addfield(pkt, b"", value))
        if self.count_of is not None:
            return len(getattr(pkt, self.count_of))
        return self.fixed


class CBORTagField(Field):
    """An optional CBOR tag head: None when the item is untagged."""

    def getfield(self, pkt, s):
        if s and s[0] >> 5 == MAJOR_TAG:
            _, tag, n = cbor_head(s)
            return s[n:], tag
        return s, None

    def addfield(self, pkt, s, val):
        return s if val is None else s + encode_head(MAJOR_TAG, val)


class CBORItemField(Field):
    """One whole CBOR data item, decoded with cbor2; bytes shown as hex."""

    def getfield(self, pkt, s):
        fp = io.BytesIO(s)
        value = cbor2.CBORDecoder(fp).decode()
        return s[fp.tell() :], value

    def addfield(self, pkt, s, val):
        return s + cbor2.dumps(val, canonical=True)

    def i2repr(self, pkt, x):
        return _show(x)


class ClaimValueField(CBORItemField):
    """A claim's value; POSIX times are also shown in UTC."""

    def i2repr(self, pkt, x):
        text = _show(x)
        if (
            pkt.key in TIME_CLAIMS
            and isinstance(x, int)
            and not isinstance(x, bool)
            and 0 <= x < 1 << 37
        ):
            when = datetime.datetime.fromtimestamp(x, datetime.UTC)
            text += " (%s)" % when.strftime("%Y-%m-%d %H:%M:%SZ")
        return text


class HeaderBytesField(StrLenField):
    """The protected header: exact bytes (the signature covers them), shown decoded too."""

    def i2repr(self, pkt, x):
        try:
            decoded = " " + _show(cbor2.loads(x)) if x else ""
        except Exception:
            decoded = " (not CBOR)"
        return "h'%s'%s" % (x.hex(), decoded)


def _hashable(x):
    try:
        hash(x)
    except TypeError:
        return False
    return True


def _show(x):
    if isinstance(x, bytes):
        return "h'%s'" % x.hex()
    if isinstance(x, list):
        return "[%s]" % ", ".join(_show(v) for v in x)
    if isinstance(x, dict):
        return "{%s}" % ", ".join("%s: %s" % (_show(k), _show(v)) for k, v in x.items())
    if isinstance(x, cbor2.CBORTag):
        return "%d(%s)" % (x.tag, _show(x.value))
    return repr(x)


# --- CBOR maps as packets -------------------------------------------------------------------
class Claim(Packet):
    name = "claim"
    fields_desc = [CBORItemField("key", ""), ClaimValueField("value", None)]

    def extract_padding(self, s):
        return b"", s  # the rest belongs to the next entry of the map

    def mysummary(self):
        return "%s=%s" % (self.key, _show(self.value))


class _CBORMap(Packet):
    """A CBOR map as a count and its entries, in wire order (duplicates stay visible)."""

    entry_class = Claim

    def _pairs(self):
        # An entry that did not decode stays a Raw packet in the list: skip it here.
        return [(e.key, e.value) for e in self.entries if isinstance(e, Claim)]

    def as_dict(self) -> dict:
        """The map as a dict (the last of duplicate keys wins, as in most decoders)."""
        return dict((k, v) for k, v in self._pairs() if _hashable(k))

    def get(self, key: Any, default: Any = None) -> Any:
        for k, v in self._pairs():
            if k == key:
                return v
        return default


class MeldboxClaims(_CBORMap):
    """The payload of a Meldbox COSE_Sign1: notice, withdraw, ping or receipt claims."""

    name = "Meldbox claims"
    fields_desc = [
        CBORHeadField("count", None, MAJOR_MAP, count_of="entries"),
        PacketListField("entries", [], Claim, count_from=lambda p: p.count),
    ]

    def mysummary(self):
        c = self.as_dict()
        t = c.get("t")
        if t == "receipt":
            text = "receipt %s seq=%s kind=%s" % (c.get("dev"), c.get("seq"), c.get("kind"))
            if isinstance(c.get("nid"), bytes):
                text += " nid=%s" % c["nid"].hex()
            return text
        text = "%s %s -> %s" % (t, c.get("iss"), c.get("aud"))
        if isinstance(c.get("id"), bytes):
            text += " id=%s" % c["id"].hex()
        if t == "notice":
            text += " cat=%s items=%d" % (c.get("cat"), len(c.get("items") or ()))
        return text


class ProblemEntry(Claim):
    name = "problem detail"
    KEYS = {-1: "title", -2: "detail", -3: "instance", -4: "response-code"}

    def mysummary(self):
        return "%s=%s" % (self.KEYS.get(self.key, self.key), _show(self.value))


class ProblemDetails(_CBORMap):
    """RFC 9290 concise problem details {-1: title, -2: detail, ...} (Content-Format 257)."""

    name = "Problem details"
    fields_desc = [
        CBORHeadField("count", None, MAJOR_MAP, count_of="entries"),
        PacketListField("entries", [], ProblemEntry, count_from=lambda p: p.count),
    ]

    @property
    def title(self) -> Any:
        return self.get(-1)

    @property
    def detail(self) -> Any:
        return self.get(-2)

    def mysummary(self):
        return "problem %r: %r" % (self.title, self.detail)


class COSESign1(Packet):
    """COSE_Sign1 (RFC 9052): [protected bstr, unprotected map, payload bstr, signature bstr],
    optionally tagged 18. The payload field is named `claims` (scapy keeps `payload` for
    the next layer) and holds the MeldboxClaims; undecodable payloads stay Raw."""

    name = "COSE_Sign1"
    fields_desc = [
        CBORTagField("tag", 18),
        CBORHeadField("length", None, MAJOR_ARRAY, fixed=4),
        CBORHeadField("protected_len", None, MAJOR_BYTES, length_of="protected"),
        HeaderBytesField("protected", b"\xa1\x01\x27", length_from=lambda p: p.protected_len),
        CBORItemField("unprotected", {}),
        CBORHeadField("claims_len", None, MAJOR_BYTES, length_of="claims"),
        PacketLenField("claims", None, MeldboxClaims, length_from=lambda p: p.claims_len),
        CBORHeadField("signature_len", None, MAJOR_BYTES, length_of="signature"),
        XStrLenField("signature", b"", length_from=lambda p: p.signature_len),
    ]

    @property
    def protected_map(self) -> dict | None:
        try:
            return cbor2.loads(self.protected) if self.protected else {}
        except Exception:
            return None

    @property
    def kid(self) -> bytes | None:
        kid = (self.unprotected or {}).get(4) if isinstance(self.unprotected, dict) else None
        return kid if kid is not None else (self.protected_map or {}).get(4)

    def mysummary(self):
        kid = self.kid
        return "COSE_Sign1 alg=%s kid=%s" % (
            (self.protected_map or {}).get(1),
            kid.hex() if isinstance(kid, bytes) else kid,
        )


# Importing scapy.contrib.coap binds CoAP to UDP 5683; Meldbox payloads follow the
# Content-Format option that CoAP.post_dissect records.
bind_layers(UDP, CoAP, dport=COAP_PORT)
bind_layers(UDP, CoAP, sport=COAP_PORT)
bind_bottom_up(CoAP, COSESign1, content_format=CF_COSE_SIGN1)
bind_bottom_up(CoAP, ProblemDetails, content_format=CF_PROBLEM_DETAILS)


def bind_port(port: int) -> None:
    """Dissect UDP traffic on another port (e.g. a simulator's) as CoAP too."""
    bind_layers(UDP, CoAP, dport=port)
    bind_layers(UDP, CoAP, sport=port)


def dissect(datagram: bytes) -> Packet:
    """A CoAP datagram (UDP payload bytes) -> CoAP packet with Meldbox layers below it,
    or a Raw packet when scapy.contrib.coap cannot read it (it raises on some truncated
    option headers; inside rdpcap scapy itself falls back to Raw the same way)."""
    try:
        return CoAP(bytes(datagram))
    except Exception:
        return conf.raw_layer(load=bytes(datagram))


def coap_datagram(
    code: int,
    payload: bytes = b"",
    content_format: int | None = None,
    path: tuple[str, ...] | list[str] = (),
    mtype: int = 0,
    msg_id: int = 1,
    token: bytes = b"",
    options: tuple | list = (),
) -> bytes:
    """Build a CoAP datagram with scapy (for tests and captures). `code` is the wire
    value (2 = POST, 65 = 2.01, ...); `options` extra (number, bytes value) pairs."""
    opts = [(11, p.encode()) for p in path] + list(options)
    if content_format is not None:
        cf = content_format.to_bytes(2, "big").lstrip(b"\x00")
        opts.append((12, cf))
    pkt = CoAP(
        type=mtype,
        code=code,
        msg_id=msg_id,
        token=token,
        options=opts,
        paymark=b"\xff" if payload else b"",
    )
    return bytes(pkt) + bytes(payload)


def _path(coap):
    return "/" + "/".join(
        v.decode("utf-8", "replace") for k, v in coap.options if k in ("Uri-Path", 11)
    )


def summary(pkt: Packet) -> str:
    """One line for a CoAP packet (or a packet with a CoAP layer):
    'CON POST mid=0x0001 tok=ab /notices cf=18 | notice nl.eokm -> desk-1 id=...'"""
    if CoAP not in pkt:
        return "not CoAP: " + pkt.summary()
    coap = pkt[CoAP]
    kind = {0: "CON", 1: "NON", 2: "ACK", 3: "RST"}.get(coap.type, coap.type)
    code = coap_codes.get(coap.code, "%d.%02d" % (coap.code >> 5, coap.code & 31))
    line = "%s %s mid=0x%04x tok=%s" % (kind, code, coap.msg_id, coap.token.hex() or "-")
    if 1 <= coap.code <= 31:
        line += " " + _path(coap)
    cf = getattr(coap, "content_format", None)
    if cf is not None:
        line += " cf=%d" % int.from_bytes(cf, "big")
    for layer in (MeldboxClaims, ProblemDetails):
        if layer in pkt:
            line += " | " + pkt[layer].mysummary()
            break
    else:
        if COSESign1 in pkt:
            line += " | " + pkt[COSESign1].mysummary()
    return line


def summaries(packets: Any) -> list[str]:
    """Summary lines for packets, e.g. from scapy's rdpcap(); non-CoAP packets too."""
    return [summary(p) for p in packets]
