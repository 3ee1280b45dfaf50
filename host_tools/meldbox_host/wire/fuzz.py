"""`meldbox fuzz`: send a device malformed CoAP datagrams and mutated COSE/CBOR in
otherwise valid POST /notices, then report what came back (response codes, RSTs,
silence) and whether the device still answers afterwards.

`generate(seed, count, key=None, aud=None)` makes the datagrams (scapy-built CoAP,
deterministic per seed); `run_fuzz(...)` sends them to a loopback target at a bounded
rate, each with a bounded wait, within a bounded total time.
"""

import argparse
import ipaddress
import json
import random
import socket
import sys
import time
from typing import Any

import cbor2
from scapy.contrib.coap import CoAP

from meldbox_host import protocol
from meldbox_host.wire.scapy_meldbox import encode_head

MAX_COUNT = 10000
FUZZ_IAT = 1_700_000_000  # fixed (determinism), in the past of any real device clock
DEFAULT_AUD = "fuzz.device"
OPT_URI_PATH, OPT_CONTENT_FORMAT, OPT_BLOCK1, OPT_SIZE1 = 11, 12, 27, 60
POST, GET = 2, 1
CON, ACK, RST = 0, 2, 3

COAP_CLASSES = (
    "bad-version",
    "token-length",
    "truncated-option",
    "reserved-option-nibble",
    "unknown-critical-option",
    "empty-payload-after-marker",
    "oversized-block1",
    "out-of-order-block1",
    "wrong-content-format",
    "huge-size1",
)
COSE_CLASSES = (
    "cose-truncated",
    "cose-bit-flip",
    "cbor-wrong-length",
    "cbor-indefinite-length",
    "cbor-deep-nesting",
    "cbor-duplicate-key",
    "cbor-invalid-utf8",
    "cbor-extra-tag",
)
SIGNED_CLASSES = ("signed-bad-claims",)
# Odd (critical) option numbers no CoAP RFC assigns (9 OSCORE, 19/31 Q-Block, 21 EDHOC are taken).
UNKNOWN_CRITICAL = (25, 29, 33, 37, 41, 61, 101, 1001, 2049, 64999)
INVALID_UTF8 = (
    b"\xff",
    b"\xc0\x80",
    b"\xed\xa0\x80",
    b"\xe2\x82",
    b"ok\x80",
    b"\xf8\x88\x80\x80\x80",
)


def classes(signed: bool = False) -> tuple[str, ...]:
    return COAP_CLASSES + COSE_CLASSES + (SIGNED_CLASSES if signed else ())


# --- building blocks --------------------------------------------------------------------
def _uint(value):
    """A CoAP uint option value: minimal big-endian bytes."""
    return value.to_bytes((value.bit_length() + 7) // 8, "big")


def _block1(num, more, szx):
    return _uint(num << 4 | (8 if more else 0) | szx)


class _Maker:
    """Holds the generator's state: rng, message ids, the signing key and the base notice."""

    def __init__(self, seed, key, aud, iat):
        self.rng = random.Random(seed)
        self.mid = self.rng.randrange(0x10000)
        self.signed = key is not None
        if (
            key is None
        ):  # a throwaway key: structure mutations are refused before any signature check
            key = protocol.HotlineKey(
                "fuzz.hotline", protocol.private_key_of(self.rng.randbytes(32))
            )
        elif not isinstance(key, protocol.HotlineKey):
            key = protocol.HotlineKey("fuzz.hotline", protocol.private_key_of(key))
        self.key, self.aud, self.iat = key, aud or DEFAULT_AUD, iat

    def token(self):
        return self.rng.randbytes(self.rng.randint(0, 8))

    def next_mid(self):
        self.mid = (self.mid + 1) & 0xFFFF
        return self.mid

    def coap(
        self,
        payload=b"",
        options=(),
        code=POST,
        path=("notices",),
        cf=protocol.CF_COSE_SIGN1,
        token=None,
        **fields,
    ):
        """One scapy-built CoAP datagram; `fields` override CoAP header fields (ver, tkl)."""
        opts = [(OPT_URI_PATH, p.encode()) for p in path]
        if cf is not None:
            opts.append((OPT_CONTENT_FORMAT, _uint(cf)))
        opts += list(options)
        pkt = CoAP(
            type=CON,
            code=code,
            msg_id=self.next_mid(),
            token=self.token() if token is None else token,
            options=opts,
            paymark=b"\xff" if payload else b"",
            **fields,
        )
        return bytes(pkt) + payload

    def claims(self, **changes):
        claims = protocol.build_notice(
            self.key.iss,
            self.aud,
            ["https://fuzz.example/%d" % self.rng.randrange(10**6)],
            id=self.rng.randbytes(16),
            iat=self.iat,
            due=self.iat + 86400,
            cat="other",
            basis="fuzz",
            ref="FUZZ-%d" % self.rng.randrange(10**6),
            test=True,
        )
        claims.update(changes)
        return claims

    def cose(self, payload_bytes=None, **kw):
        payload_bytes = (
            protocol.encode_claims(self.claims()) if payload_bytes is None else payload_bytes
        )
        return protocol.sign_raw(payload_bytes, self.key, **kw)

    def parts(self):
        """(protected bstr content, unprotected map, payload, signature) of a fresh notice."""
        payload = protocol.encode_claims(self.claims())
        s1 = protocol.decode_sign1(self.cose(payload))
        return s1.protected_bytes, s1.unprotected, payload, s1.signature


def _bstr(b):
    return encode_head(2, len(b)) + b


def _text_raw(b):
    return encode_head(3, len(b)) + b


def _map_raw(entries):
    """A CBOR map from (encoded key, encoded value) pairs, kept as given (duplicates too)."""
    return encode_head(5, len(entries)) + b"".join(k + v for k, v in entries)


def _entries(claims):
    return [
        (cbor2.dumps(k), cbor2.dumps(v, canonical=True))
        for k, v in sorted(claims.items(), key=lambda kv: (len(kv[0]), kv[0]))
    ]


# --- one case per mutation class: a list of (variant, datagram) ------------------------------
def _bad_version(m):
    v = m.rng.choice((0, 2, 3))
    return [("v%d" % v, m.coap(m.cose(), ver=v))]


def _token_length(m):
    tkl = m.rng.randint(9, 15)
    have = m.rng.choice((tkl, 8, 0))
    return [("tkl%d-has%d" % (tkl, have), m.coap(m.cose(), tkl=tkl, token=m.rng.randbytes(have)))]


def _truncated_option(m):
    variant = m.rng.choice(("value", "delta-ext", "length-ext"))
    head = m.coap(cf=None, path=())
    if variant == "value":  # Uri-Path says 7 bytes, fewer follow
        cut = m.rng.randint(1, 6)
        return [("value-%d-of-7" % (7 - cut), head + b"\xb7" + b"notices"[: 7 - cut])]
    if variant == "delta-ext":  # delta 13 announces one extension byte that is missing
        return [(variant, head + b"\xd1")]
    return [(variant, head + b"\x1e\x01")]  # length 14 announces two extension bytes, one follows


def _reserved_nibble(m):
    byte = m.rng.choice((0xF1, 0xF3, 0x1F, 0x3F, 0xDF, 0xF0))
    # Uri-Path, then the bad option byte and a few value bytes for it to claim
    filler = b"\x00" * (byte & 15 if byte & 15 != 15 else 1)
    datagram = m.coap(path=(), cf=None) + b"\xb7notices" + bytes([byte]) + filler
    return [("byte-%02x" % byte, datagram)]


def _unknown_critical(m):
    number = m.rng.choice(UNKNOWN_CRITICAL)
    return [
        (
            "option-%d" % number,
            m.coap(m.cose(), options=[(number, m.rng.randbytes(m.rng.randint(0, 4)))]),
        )
    ]


def _empty_after_marker(m):
    code = m.rng.choice((POST, GET))
    path = ("notices",) if code == POST else ("status",)
    cf = protocol.CF_COSE_SIGN1 if code == POST else None
    return [("post" if code == POST else "get", m.coap(code=code, path=path, cf=cf) + b"\xff")]


def _block_sequence(m, blocks, szx, label, extra_options=()):
    """Datagrams for Block1 (num, more, data) triples sharing one token."""
    token = m.rng.randbytes(m.rng.randint(1, 8))
    out = []
    for i, (num, more, data) in enumerate(blocks):
        opts = [(OPT_BLOCK1, _block1(num, more, szx))] + (list(extra_options) if i == 0 else [])
        out.append(
            ("%s[%d/%d]" % (label, i + 1, len(blocks)), m.coap(data, options=opts, token=token))
        )
    return out


def _oversized_block1(m):
    variant = m.rng.choice(("past-limit", "far-block", "more-at-limit"))
    if variant == "past-limit":  # 9 full 1024-byte blocks, still "more": past the 8192 limit
        return _block_sequence(m, [(n, True, m.rng.randbytes(1024)) for n in range(9)], 6, variant)
    if variant == "far-block":  # a lone block far beyond any 8192-byte message
        num = m.rng.choice((8, 9, 100, 4095, 0xFFFFF))
        return _block_sequence(
            m, [(num, True, m.rng.randbytes(1024))], 6, "%s-%d" % (variant, num)
        )
    # block 7 of 1024 ends at exactly 8192 bytes, yet says more follows
    return _block_sequence(m, [(7, True, m.rng.randbytes(1024))], 6, variant)


def _out_of_order_block1(m):
    cose = m.cose()
    chunks = [cose[i : i + 64] for i in range(0, len(cose), 64)]
    blocks = [(n, n + 1 < len(chunks), c) for n, c in enumerate(chunks)]
    variant = m.rng.choice(("reversed", "skip", "repeat-changed", "size-change"))
    if variant == "reversed":
        blocks = blocks[::-1]
    elif variant == "skip":
        del blocks[1]
    elif variant == "repeat-changed":
        n, more, data = blocks[0]
        blocks.insert(1, (n, more, bytes(b ^ 0x55 for b in data)))
    else:  # 64-byte block 0, then "block 1" of 256-byte blocks: a size increase and a gap
        token = m.rng.randbytes(4)
        return [
            (
                variant + "[1/2]",
                m.coap(cose[:64], token=token, options=[(OPT_BLOCK1, _block1(0, True, 2))]),
            ),
            (
                variant + "[2/2]",
                m.coap(
                    cose[256:512],
                    token=token,
                    options=[(OPT_BLOCK1, _block1(1, len(cose) > 512, 4))],
                ),
            ),
        ]
    return _block_sequence(m, blocks, 2, variant)


def _wrong_cf(m):
    cf = m.rng.choice((None, 0, 42, 50, 60, 16, 17, 96, 98, 257, 65000))
    return [("cf-%s" % ("none" if cf is None else cf), m.coap(m.cose(), cf=cf))]


def _huge_size1(m):
    size = m.rng.choice((8193, 65536, 10**6, 2**32 - 1))
    cose = m.cose()
    opts = [(OPT_SIZE1, _uint(size))]
    if m.rng.random() < 0.5:
        opts.append((OPT_BLOCK1, _block1(0, True, 6)))
    return [
        ("size1-%d%s" % (size, "-block1" if len(opts) == 2 else ""), m.coap(cose, options=opts))
    ]


def _cose_truncated(m):
    cose = m.cose()
    cut = m.rng.randint(1, len(cose) - 1)
    return [("keep-%d-of-%d" % (cut, len(cose)), m.coap(cose[:cut]))]


def _bit_flip(m):
    cose = bytearray(m.cose())
    flips = sorted(m.rng.randrange(len(cose) * 8) for _ in range(m.rng.randint(1, 4)))
    for bit in flips:
        cose[bit // 8] ^= 0x80 >> (bit % 8)
    return [("bits-" + "-".join(map(str, flips)), m.coap(bytes(cose)))]


def _wrong_length(m):
    protected, unprotected, payload, signature = m.parts()
    which = m.rng.choice(("array", "protected", "payload", "signature"))
    delta = m.rng.choice((-2, -1, 1, 2, 1000))
    if which == "array":
        body = (
            encode_head(4, max(0, 4 + delta))
            + _bstr(protected)
            + cbor2.dumps(unprotected)
            + _bstr(payload)
            + _bstr(signature)
        )
    else:
        fields = {"protected": protected, "payload": payload, "signature": signature}
        heads = {k: _bstr(v) for k, v in fields.items()}
        heads[which] = encode_head(2, max(0, len(fields[which]) + delta)) + fields[which]
        body = (
            encode_head(4, 4)
            + heads["protected"]
            + cbor2.dumps(unprotected)
            + heads["payload"]
            + heads["signature"]
        )
    return [("%s%+d" % (which, delta), m.coap(b"\xd2" + body))]


def _indefinite(m):
    protected, unprotected, payload, signature = m.parts()
    variant = m.rng.choice(("array", "payload-bstr", "claims-map", "claims-text"))
    if variant == "array":
        cose = (
            b"\xd2\x9f"
            + _bstr(protected)
            + cbor2.dumps(unprotected)
            + _bstr(payload)
            + _bstr(signature)
            + b"\xff"
        )
    elif variant == "payload-bstr":
        half = len(payload) // 2
        chunked = b"\x5f" + _bstr(payload[:half]) + _bstr(payload[half:]) + b"\xff"
        cose = (
            b"\xd2\x84" + _bstr(protected) + cbor2.dumps(unprotected) + chunked + _bstr(signature)
        )
    elif variant == "claims-map":  # signed, so only the CBOR rule can refuse it
        entries = _entries(m.claims())
        cose = m.cose(b"\xbf" + b"".join(k + v for k, v in entries) + b"\xff")
    else:
        entries = [
            (
                k,
                b"\x7f" + _text_raw(b"FUZZ-") + _text_raw(b"1") + b"\xff"
                if k == cbor2.dumps("ref")
                else v,
            )
            for k, v in _entries(m.claims())
        ]
        cose = m.cose(_map_raw(entries))
    return [(variant, m.coap(cose))]


def _deep_nesting(m):
    depth = m.rng.choice((9, 10, 16, 64, 200, 500))
    where = m.rng.choice(("claims", "unprotected"))
    nested = b"\x81" * depth + b"\x00"
    if where == "claims":
        entries = [
            (k, nested if k == cbor2.dumps("items") else v) for k, v in _entries(m.claims())
        ]
        cose = m.cose(_map_raw(entries))
    else:
        protected, _, payload, signature = m.parts()
        cose = (
            b"\xd2\x84"
            + _bstr(protected)
            + b"\xa2\x04"
            + _bstr(m.key.kid)
            + b"\x21"
            + nested
            + _bstr(payload)
            + _bstr(signature)
        )
    return [("%s-depth-%d" % (where, depth), m.coap(cose))]


def _duplicate_key(m):
    where = m.rng.choice(("claims", "protected", "unprotected"))
    if where == "claims":
        entries = _entries(m.claims())
        key = m.rng.choice([k for k, _ in entries])
        entries.append((key, dict(entries)[key]))
        return [("claims-" + cbor2.loads(key), m.coap(m.cose(_map_raw(entries))))]
    if where == "protected":
        return [(where, m.coap(m.cose(protected=b"\xa2\x01\x27\x01\x27")))]
    protected, _, payload, signature = m.parts()
    kid = _bstr(m.key.kid)
    cose = (
        b"\xd2\x84"
        + _bstr(protected)
        + b"\xa2\x04"
        + kid
        + b"\x04"
        + kid
        + _bstr(payload)
        + _bstr(signature)
    )
    return [(where, m.coap(cose))]


def _invalid_utf8(m):
    bad = m.rng.choice(INVALID_UTF8)
    where = m.rng.choice(("value", "key"))
    entries = _entries(m.claims())
    if where == "value":
        entries = [
            (k, _text_raw(b"FUZZ" + bad) if k == cbor2.dumps("ref") else v) for k, v in entries
        ]
    else:
        entries.append((_text_raw(b"x" + bad), b"\x01"))
    return [("%s-%s" % (where, bad.hex()), m.coap(m.cose(_map_raw(entries))))]


def _extra_tag(m):
    variant = m.rng.choice(
        ("double-18", "self-describe", "tag-17", "tagged-iat", "tagged-payload")
    )
    cose = m.cose()
    if variant == "double-18":
        out = b"\xd2" + cose
    elif variant == "self-describe":
        out = b"\xd9\xd9\xf7" + cose
    elif variant == "tag-17":
        out = b"\xd1" + cose[1:]
    elif variant == "tagged-iat":  # signed: tag 1 (epoch time) around iat
        entries = [
            (k, b"\xc1" + v if k == cbor2.dumps("iat") else v) for k, v in _entries(m.claims())
        ]
        out = m.cose(_map_raw(entries))
    else:  # tag 24 (embedded CBOR) around the payload bstr
        protected, unprotected, payload, signature = m.parts()
        out = (
            b"\xd2\x84"
            + _bstr(protected)
            + cbor2.dumps(unprotected)
            + b"\xd8\x18"
            + _bstr(payload)
            + _bstr(signature)
        )
    return [(variant, m.coap(out))]


def _bad_claims(m):
    """Correctly signed with the given key, but the claims break PROTOCOL.md 3."""
    iat = m.iat
    variants = {
        "no-deadline": lambda c: c.pop("due"),
        "due-and-within": lambda c: c.update(within=3600),
        "due-before-iat": lambda c: c.update(due=iat - 1),
        "version-2": lambda c: c.update(v=2),
        "type-unknown": lambda c: c.update(t="bogus"),
        "iat-text": lambda c: c.update(iat=str(iat)),
        "iat-negative": lambda c: c.update(iat=-1),
        "iat-far-future": lambda c: c.update(
            iat=iat + 20 * 365 * 86400, due=iat + 21 * 365 * 86400
        ),
        "items-empty": lambda c: c.update(items=[]),
        "items-65": lambda c: c.update(items=[{"url": "u%d" % i} for i in range(65)]),
        "items-not-list": lambda c: c.update(items={"url": "u"}),
        "id-4-bytes": lambda c: c.update(id=m.rng.randbytes(4)),
        "id-text": lambda c: c.update(id="abc"),
        "cat-unknown": lambda c: c.update(cat="spam"),
        "sha256-31": lambda c: c["items"][0].update(sha256=bytes(31)),
        "within-59": lambda c: (c.pop("due"), c.update(within=59)),
        "test-not-bool": lambda c: c.update(test="yes"),
        "note-281": lambda c: c.update(note="n" * 281),
        "aud-other": lambda c: c.update(aud=m.aud + ".other"),
        "iss-other": lambda c: c.update(iss=m.key.iss + ".other"),
        "ref-missing": lambda c: c.pop("ref"),
        "replaces-text": lambda c: c.update(replaces="earlier"),
        "payload-array": None,
    }
    name = m.rng.choice(sorted(variants))
    if name == "payload-array":
        return [(name, m.coap(m.cose(cbor2.dumps([1, "notice"]))))]
    claims = m.claims()
    variants[name](claims)
    return [(name, m.coap(protocol.sign(claims, m.key)))]


MUTATIONS = {
    "bad-version": _bad_version,
    "token-length": _token_length,
    "truncated-option": _truncated_option,
    "reserved-option-nibble": _reserved_nibble,
    "unknown-critical-option": _unknown_critical,
    "empty-payload-after-marker": _empty_after_marker,
    "oversized-block1": _oversized_block1,
    "out-of-order-block1": _out_of_order_block1,
    "wrong-content-format": _wrong_cf,
    "huge-size1": _huge_size1,
    "cose-truncated": _cose_truncated,
    "cose-bit-flip": _bit_flip,
    "cbor-wrong-length": _wrong_length,
    "cbor-indefinite-length": _indefinite,
    "cbor-deep-nesting": _deep_nesting,
    "cbor-duplicate-key": _duplicate_key,
    "cbor-invalid-utf8": _invalid_utf8,
    "cbor-extra-tag": _extra_tag,
    "signed-bad-claims": _bad_claims,
}


def generate(
    seed: int, count: int, key: Any = None, aud: str | None = None, iat: int = FUZZ_IAT
) -> list[tuple[str, bytes]]:
    """`count` (label, datagram) pairs, the same for the same arguments. Labels are
    'class:variant'; classes come round-robin in a seeded order, so every class of
    classes(signed=key is not None) appears once count reaches their number (a
    multi-datagram Block1 case may be cut short by count). `key` (HotlineKey or private
    key) adds correctly signed notices with bad claims, addressed to `aud`."""
    count = max(0, min(int(count), MAX_COUNT))
    m = _Maker(seed, key, aud, iat)
    order = list(classes(m.signed))
    out = []
    while len(out) < count:
        m.rng.shuffle(order)
        for name in order:
            for variant, datagram in MUTATIONS[name](m):
                out.append(("%s:%s" % (name, variant), datagram))
            if len(out) >= count:
                break
    return out[:count]


def mutation_class(label: str) -> str:
    return label.split(":", 1)[0]


# --- sending -------------------------------------------------------------------------------------
class NotLoopback(ValueError):
    pass


def parse_target(text: str) -> tuple[str, int, socket.AddressFamily]:
    """'HOST:PORT' -> (ip, port); only loopback addresses may be fuzzed."""
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not port.isdigit() or not host:
        raise ValueError("--target %r: expected HOST:PORT" % text)
    infos = socket.getaddrinfo(host, int(port), type=socket.SOCK_DGRAM)
    addr = infos[0][4]
    if not ipaddress.ip_address(addr[0]).is_loopback:
        raise NotLoopback("--target %s: only loopback targets may be fuzzed" % text)
    return addr[0], int(port), infos[0][0]


def _parse_reply(data):
    """(type, code, mid, token) of a CoAP reply, or None if it is not one."""
    if len(data) < 4 or data[0] >> 6 != 1 or data[0] & 15 > 8:
        return None
    tkl = data[0] & 15
    return (data[0] >> 4) & 3, data[1], int.from_bytes(data[2:4], "big"), data[4 : 4 + tkl]


def _exchange(sock, datagram, wait):
    """Send one datagram; -> outcome 'RST', 'ACK' (an empty ACK and no response),
    'silence', 'unreachable', or a response code such as '4.00'. Replies are matched
    by message id (ACK, RST) or token (separate responses, which get their ACK);
    late replies to earlier datagrams are skipped."""
    # Read mid and token from the raw bytes: malformed datagrams get RSTs by mid too.
    mid = int.from_bytes(datagram[2:4], "big") if len(datagram) >= 4 else None
    token = datagram[4 : 4 + min(datagram[0] & 15, 8)] if datagram else b""
    sock.send(datagram)
    outcome, deadline = "silence", time.monotonic() + wait
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return outcome
        sock.settimeout(left)
        try:
            data = sock.recv(2048)
        except TimeoutError:
            return outcome
        except ConnectionRefusedError:  # ICMP port unreachable: nobody listens
            return "unreachable"
        reply = _parse_reply(data)
        if reply is None:
            continue
        rtype, code, rmid, rtoken = reply
        if rtype == CON:  # a separate response: acknowledge it, as a client must
            sock.send(bytes([0x60, 0, rmid >> 8, rmid & 0xFF]))
        if rtype in (ACK, RST):
            if rmid != mid:
                continue
            if rtype == RST:
                return "RST"
            if code == 0:
                outcome = "ACK"
                continue
        elif code == 0 or rtoken != token:
            continue
        return protocol.code_text(code)


def _free_mids(cases, n):
    """n message ids the cases do not use (a device answers a repeated mid from its cache)."""
    used = {int.from_bytes(d[2:4], "big") for _, d in cases if len(d) >= 4}
    return [mid for mid in range(0x10000) if mid not in used][:n]


def probe(
    sock: socket.socket, wait: float = 1.0, mids: tuple[int, ...] = (0xFFFF, 0xFFFE, 0xFFFD)
) -> bool:
    """Is the device still answering? GET /.well-known/core, one try per mid."""
    for i, mid in enumerate(mids):
        datagram = bytes(
            CoAP(
                type=CON,
                code=GET,
                msg_id=mid,
                token=b"live%d" % i,
                options=[(OPT_URI_PATH, b".well-known"), (OPT_URI_PATH, b"core")],
            )
        )
        if _exchange(sock, datagram, wait).startswith("2."):
            return True
    return False


def run_fuzz(
    target: tuple[str, int, socket.AddressFamily],
    cases: list[tuple[str, bytes]],
    rate: float = 50.0,
    wait: float = 0.3,
    max_seconds: float = 120.0,
    probe_wait: float = 1.0,
) -> dict:
    """Send `cases` ((label, datagram) pairs) to target (ip, port, family) -> report dict."""
    ip, port, family = target
    started = time.monotonic()
    results = []
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.connect((ip, port))
        probe_mids = _free_mids(cases, 6)
        alive_before = probe(sock, probe_wait, probe_mids[:3])
        gap = 1.0 / rate if rate > 0 else 0.0
        for label, datagram in cases:
            if time.monotonic() - started > max_seconds:
                break
            t0 = time.monotonic()
            results.append((label, len(datagram), _exchange(sock, datagram, wait)))
            rest = gap - (time.monotonic() - t0)
            if rest > 0:
                time.sleep(rest)
        alive_after = probe(sock, probe_wait, probe_mids[3:])
    return make_report(results, alive_before, alive_after, time.monotonic() - started)


def make_report(
    results: list[tuple[str, int, str]], alive_before: bool, alive_after: bool, seconds: float
) -> dict:
    tally, by_class, accepted = {}, {}, []
    for label, _, outcome in results:
        tally[outcome] = tally.get(outcome, 0) + 1
        per = by_class.setdefault(mutation_class(label), {})
        per[outcome] = per.get(outcome, 0) + 1
        if outcome in ("2.01", "2.04"):  # a mutated notice should never be taken
            accepted.append(label)
    return {
        "sent": len(results),
        "seconds": round(seconds, 3),
        "alive_before": alive_before,
        "alive_after": alive_after,
        "tally": dict(sorted(tally.items())),
        "by_class": {k: dict(sorted(v.items())) for k, v in sorted(by_class.items())},
        "accepted": accepted,
        "cases": [{"label": lb, "bytes": n, "outcome": o} for lb, n, o in results],
    }


def report_text(report: dict) -> str:
    lines = [
        "sent %d datagrams in %.1f s to %s (seed %s)"
        % (report["sent"], report["seconds"], report.get("target", "?"), report.get("seed", "?")),
        "device answered before: %s, after: %s"
        % ("yes" if report["alive_before"] else "NO", "yes" if report["alive_after"] else "NO"),
        "outcomes: " + ", ".join("%s %d" % kv for kv in report["tally"].items()),
    ]
    for name, per in report["by_class"].items():
        lines.append("  %-28s %s" % (name, ", ".join("%s %d" % kv for kv in per.items())))
    if report["accepted"]:
        lines.append(
            "ACCEPTED (mutated notices answered 2.01/2.04): " + ", ".join(report["accepted"])
        )
    return "\n".join(lines)


# --- command line --------------------------------------------------------------------------------
def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--target", required=True, metavar="HOST:PORT", help="a loopback device address"
    )
    p.add_argument(
        "--count",
        type=int,
        required=True,
        metavar="N",
        help="datagrams to send (max %d)" % MAX_COUNT,
    )
    p.add_argument("--seed", type=int, required=True, metavar="S")
    p.add_argument(
        "--key", metavar="FILE", help="issuer key file: adds signed notices with bad claims"
    )
    p.add_argument("--aud", metavar="DEV", help="the device id (with --key)")
    p.add_argument("--report", metavar="FILE.json", help="write the full report as JSON")
    p.add_argument(
        "--rate",
        type=float,
        default=50.0,
        metavar="PER_S",
        help="at most this many datagrams a second",
    )
    p.add_argument(
        "--wait",
        type=float,
        default=0.3,
        metavar="SECONDS",
        help="how long to wait for each answer",
    )
    p.add_argument("--max-seconds", type=float, default=120.0, help="stop sending after this long")
    p.add_argument(
        "--probe-wait",
        type=float,
        default=1.0,
        metavar="SECONDS",
        help="wait per liveness probe (GET /.well-known/core) before and after",
    )


def run(args: argparse.Namespace) -> int:
    try:
        if args.count < 0 or args.count > MAX_COUNT:
            raise ValueError("--count must be 0..%d" % MAX_COUNT)
        if args.key and not args.aud:
            raise ValueError("--key needs --aud")
        target = parse_target(args.target)
        key = protocol.load_key(args.key) if args.key else None
    except (ValueError, OSError) as exc:
        print("meldbox fuzz: %s" % exc, file=sys.stderr)
        return 2
    cases = generate(args.seed, args.count, key, args.aud)
    report = dict(
        target=args.target,
        seed=args.seed,
        **run_fuzz(target, cases, args.rate, args.wait, args.max_seconds, args.probe_wait),
    )
    print(report_text(report))
    if args.report:
        with open(args.report, "w") as f:
            json.dump(report, f, indent=1)
    if not report["alive_before"]:
        print("meldbox fuzz: the target did not answer before fuzzing", file=sys.stderr)
        return 3
    return 0 if report["alive_after"] else 1
