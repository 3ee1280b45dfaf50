"""The fuzzer: generate() is deterministic per seed, covers every mutation class, keeps
datagrams within one sane size, and each class really breaks what it says (checked with
small independent CoAP and CBOR readers written here); run_fuzz() tallies what a
scripted responder sends back and notices a device that stopped answering."""

import json
import socket
import sys
import threading
from collections import defaultdict
from pathlib import Path

import pytest

from meldbox_host import cli
from meldbox_host import protocol as P
from meldbox_host.wire import fuzz

KEY = P.HotlineKey("nl.fuzz", P.private_key_of(bytes(range(32))))
AUD = "nl.hoster-a.desk-1"
SIGNED = fuzz.generate(11, 400, KEY, AUD)
# Option numbers assigned by CoAP RFCs (and aiocoap's draft Uri-Path-Abbrev, 13).
KNOWN_OPTIONS = {
    1,
    3,
    4,
    5,
    6,
    7,
    8,
    9,
    11,
    12,
    13,
    14,
    15,
    16,
    17,
    19,
    20,
    21,
    23,
    27,
    28,
    31,
    35,
    39,
    60,
    252,
    258,
    292,
    548,
}


# --- independent readers -------------------------------------------------------------------------
class Malformed(Exception):
    pass


def read_coap(d):
    """-> (version, tkl, token, [(number, value)], payload). Malformed(reason) on format errors."""
    if len(d) < 4:
        raise Malformed("short")
    version, tkl = d[0] >> 6, d[0] & 15
    if version != 1:
        raise Malformed("version")
    if tkl > 8:
        raise Malformed("tkl")
    i, number, options = 4 + tkl, 0, []
    if len(d) < i:
        raise Malformed("truncated")
    while i < len(d):
        if d[i] == 0xFF:
            if i + 1 == len(d):
                raise Malformed("marker without payload")
            return version, tkl, d[4 : 4 + tkl], options, d[i + 1 :]
        delta, length = d[i] >> 4, d[i] & 15
        i += 1
        values = []
        for nibble in (delta, length):
            if nibble == 15:
                raise Malformed("reserved nibble")
            extra = {13: 1, 14: 2}.get(nibble, 0)
            if i + extra > len(d):
                raise Malformed("truncated")
            ext = int.from_bytes(d[i : i + extra], "big")
            values.append(nibble if not extra else ext + (13 if extra == 1 else 269))
            i += extra
        number += values[0]
        if i + values[1] > len(d):
            raise Malformed("truncated")
        options.append((number, d[i : i + values[1]]))
        i += values[1]
    return version, tkl, d[4 : 4 + tkl], options, b""


def cbor_flags(b):
    """Flags of strict-CBOR breaches in b: 'malformed', 'trailing', 'indefinite', 'deep',
    'duplicate', 'utf8', plus the tags seen as 'tag:N'."""
    flags = set()

    def item(i, depth):
        if depth > 8:
            flags.add("deep")
        if i >= len(b):
            raise Malformed("truncated")
        major, info = b[i] >> 5, b[i] & 31
        i += 1
        if info == 31:
            if major in (0, 1, 6, 7):
                raise Malformed("bad indefinite")
            flags.add("indefinite")
            n = None
        elif info >= 28:
            raise Malformed("reserved")
        elif info >= 24:
            size = 1 << (info - 24)
            if i + size > len(b):
                raise Malformed("truncated")
            n, i = int.from_bytes(b[i : i + size], "big"), i + size
        else:
            n = info
        if major in (0, 1, 7):
            return i
        if major in (2, 3):
            if n is None:
                while b[i] != 0xFF:
                    i = item(i, depth)
                return i + 1
            if i + n > len(b):
                raise Malformed("truncated")
            if major == 3:
                try:
                    b[i : i + n].decode("utf-8")
                except UnicodeDecodeError:
                    flags.add("utf8")
            return i + n
        if major == 6:
            flags.add("tag:%d" % n)
            return item(i, depth)
        count, keys = 0, []
        while (n is None and b[i] != 0xFF) or (n is not None and count < n):
            if major == 5:
                start = i
                i = item(i, depth + 1)
                keys.append(b[start:i])
            i = item(i, depth + 1)
            count += 1
        if len(keys) != len(set(keys)):
            flags.add("duplicate")
        return i + 1 if n is None else i

    try:
        end = item(0, 1)
        if end != len(b):
            flags.add("trailing")
    except (Malformed, IndexError):
        flags.add("malformed")
    return flags


NOTICE_KEYS = {"v", "t", "id", "iss", "aud", "iat", "cat", "basis", "ref", "items"}


def notice_problems(c):
    """PROTOCOL.md 3 rules a notice from KEY to AUD breaks (device time >= FUZZ_IAT)."""

    def uint(v):
        return isinstance(v, int) and not isinstance(v, bool) and v >= 0

    problems = [k for k in NOTICE_KEYS if k not in c]
    if problems:
        return problems
    if c["v"] != 1 or c["t"] != "notice":
        problems.append("v/t")
    if not isinstance(c["id"], bytes) or not 8 <= len(c["id"]) <= 32:
        problems.append("id")
    if c["iss"] != KEY.iss or c["aud"] != AUD:
        problems.append("iss/aud")
    if not uint(c["iat"]) or c["iat"] > fuzz.FUZZ_IAT + 300:
        problems.append("iat")
    if ("due" in c) == ("within" in c):
        problems.append("deadline")
    elif "due" in c and not (uint(c["due"]) and uint(c["iat"]) and c["due"] > c["iat"]):
        problems.append("due")
    elif "within" in c and not (uint(c["within"]) and 60 <= c["within"] <= 2592000):
        problems.append("within")
    if (
        c["cat"] not in ("csam", "terror", "other")
        or not isinstance(c["basis"], str)
        or not isinstance(c["ref"], str)
    ):
        problems.append("cat/basis/ref")
    items = c["items"]
    if (
        not isinstance(items, list)
        or not 1 <= len(items) <= 64
        or not all(
            isinstance(i, dict)
            and isinstance(i.get("url"), str)
            and len(i["url"].encode()) <= 2048
            and (not isinstance(i.get("sha256"), bytes) or len(i["sha256"]) == 32)
            and (("sha256" not in i) or isinstance(i["sha256"], bytes))
            for i in items
        )
    ):
        problems.append("items")
    if "note" in c and (not isinstance(c["note"], str) or len(c["note"]) > 280):
        problems.append("note")
    for flag in ("test", "nodisclose"):
        if flag in c and not isinstance(c[flag], bool):
            problems.append(flag)
    if "replaces" in c and not isinstance(c["replaces"], bytes):
        problems.append("replaces")
    return problems


def device_must_refuse(cose):
    """True if a strict device cannot take these bytes as a notice from KEY."""
    if cbor_flags(cose) - {"tag:18"}:
        return True
    try:
        _, claims = P.verify_sign1(cose, KEY.public)
    except P.ReceiptError:
        return True
    s1 = P.decode_sign1(cose)
    if cbor_flags(s1.payload) or cbor_flags(s1.protected_bytes):
        return True
    return bool(notice_problems(claims))


# --- generation ----------------------------------------------------------------------------------
def test_deterministic_per_seed():
    assert fuzz.generate(5, 120) == fuzz.generate(5, 120)
    assert fuzz.generate(11, 400, KEY, AUD) == SIGNED
    assert fuzz.generate(6, 120) != fuzz.generate(5, 120)
    assert len(fuzz.generate(5, 37)) == 37 and fuzz.generate(5, 0) == []


def test_covers_every_class():
    unsigned = {fuzz.mutation_class(label) for label, _ in fuzz.generate(1, 80)}
    assert unsigned == set(fuzz.COAP_CLASSES + fuzz.COSE_CLASSES)
    assert {fuzz.mutation_class(label) for label, _ in SIGNED} == set(fuzz.classes(signed=True))
    assert "signed-bad-claims" in fuzz.classes(signed=True)


def test_datagrams_fit_the_devices_datagram():
    # so that each case meets the parser it aims at, not the device's size limit
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "firmware"))
    from meldbox import coap

    for label, datagram in SIGNED + fuzz.generate(2, 400):
        assert 4 <= len(datagram) <= coap.MAX_DATAGRAM, label


def test_valid_base_notice_passes_the_oracle():
    # The oracle itself must accept what the fuzzer starts from.
    maker = fuzz._Maker(3, KEY, AUD, fuzz.FUZZ_IAT)
    assert not device_must_refuse(maker.cose())


def by_class(cases):
    groups = defaultdict(list)
    for label, datagram in cases:
        groups[fuzz.mutation_class(label)].append((label, datagram))
    return groups


GROUPS = by_class(SIGNED)


def options_of(datagram):
    return dict(read_coap(datagram)[3])


@pytest.mark.parametrize(
    "name,reason",
    [
        ("bad-version", "version"),
        ("token-length", "tkl"),
        ("truncated-option", "truncated"),
        ("reserved-option-nibble", "reserved nibble"),
        ("empty-payload-after-marker", "marker without payload"),
    ],
)
def test_coap_format_classes_are_malformed(name, reason):
    assert GROUPS[name]
    for _label, datagram in GROUPS[name]:
        with pytest.raises(Malformed, match=reason):
            read_coap(datagram)


def test_unknown_critical_options():
    for label, datagram in GROUPS["unknown-critical-option"]:
        numbers = {n for n, _ in read_coap(datagram)[3]}
        unknown = {n for n in numbers - KNOWN_OPTIONS if n % 2}
        assert unknown, label


def test_wrong_content_format_and_huge_size1():
    for label, datagram in GROUPS["wrong-content-format"]:
        cf = options_of(datagram).get(12)
        assert cf is None or int.from_bytes(cf, "big") != 18, label
    for label, datagram in GROUPS["huge-size1"]:
        assert int.from_bytes(options_of(datagram)[60], "big") > 8192, label


def block_sequences(name):
    """Complete Block1 sequences of a class: {(label base, token): [(num, more, szx, len)]}."""
    seqs, expected = defaultdict(list), {}
    for label, datagram in GROUPS[name]:
        _, _, token, options, payload = read_coap(datagram)
        value = int.from_bytes(dict(options)[27], "big")
        base, _, part = label.partition("[")
        seqs[(base, token)].append((value >> 4, bool(value & 8), value & 7, len(payload)))
        expected[(base, token)] = int(part.rstrip("]").split("/")[1])
    return {k: v for k, v in seqs.items() if len(v) == expected[k]}


def test_oversized_block1_sequences_pass_8192_bytes():
    seqs = block_sequences("oversized-block1")
    assert seqs
    for key, blocks in seqs.items():
        # "more" after a block means at least one byte beyond its end
        reach = max(
            num * (16 << szx) + ((16 << szx) + 1 if more else n) for num, more, szx, n in blocks
        )
        assert reach > 8192, key


def test_out_of_order_block1_sequences_are_out_of_order():
    seqs = block_sequences("out-of-order-block1")
    assert seqs
    for key, blocks in seqs.items():
        nums = [b[0] for b in blocks]
        in_order = nums == list(range(len(blocks))) and len({b[2] for b in blocks}) == 1
        assert not in_order, key


@pytest.mark.parametrize("name", fuzz.COSE_CLASSES + fuzz.SIGNED_CLASSES)
def test_cose_classes_are_valid_coap_posts_a_device_must_refuse(name):
    assert GROUPS[name]
    for label, datagram in GROUPS[name]:
        _, _, _, options, payload = read_coap(datagram)
        opts = dict(options)
        assert opts[11] == b"notices" and opts[12] == b"\x12", label
        assert device_must_refuse(payload), label


def test_signed_bad_claims_carry_good_signatures():
    for label, datagram in GROUPS["signed-bad-claims"]:
        s1 = P.decode_sign1(read_coap(datagram)[4])
        assert s1.protected == {1: -8} and s1.unprotected == {4: KEY.kid}, label
        # raises InvalidSignature if the signature were bad
        KEY.private_key.public_key().verify(
            s1.signature, P.sig_structure(s1.protected_bytes, s1.payload)
        )


def test_cbor_classes_break_the_rule_they_name():
    expect = {
        "cbor-indefinite-length": "indefinite",
        "cbor-duplicate-key": "duplicate",
        "cbor-invalid-utf8": "utf8",
        "cbor-deep-nesting": "deep",
    }
    for name, flag in expect.items():
        for label, datagram in GROUPS[name]:
            payload = read_coap(datagram)[4]
            flags = cbor_flags(payload)
            try:
                s1 = P.decode_sign1(payload)
                flags |= cbor_flags(s1.payload) | cbor_flags(s1.protected_bytes)
            except P.ReceiptError:
                pass
            assert flag in flags, (label, flags)


# --- sending -------------------------------------------------------------------------------------
class Responder:
    """A scripted UDP peer: silent to bad versions, RST to token lengths over 8, an empty
    ACK then a separate CON 4.15 to a Content-Format other than 18, a piggybacked 4.00 to
    the rest, 2.05 to GET /.well-known/core. `alive=False`: silent to all."""

    def __init__(self, alive=True):
        self.alive = alive
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.acks_received = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)

    def serve(self):
        mid_out = 0x4000
        while not self.stop.is_set():
            try:
                d, peer = self.sock.recvfrom(2048)
            except TimeoutError:
                continue
            if not self.alive or len(d) < 4:
                continue
            mid = d[2:4]
            if d[0] >> 6 != 1:
                continue
            if d[0] & 15 > 8:
                self.sock.sendto(bytes([0x70, 0]) + mid, peer)
                continue
            if d[0] >> 4 == 0x6 and d[1] == 0:  # an ACK (of our separate response)
                self.acks_received += 1
                continue
            token = d[4 : 4 + (d[0] & 15)]
            head = bytes([0x60 | len(token)])
            try:
                options = read_coap(d)[3]
            except Malformed:
                options = []
            paths = [v for n, v in options if n == 11]
            options = dict(options)
            if paths == [b".well-known", b"core"]:
                self.sock.sendto(head + bytes([0x45]) + mid + token, peer)
            elif 12 in options and options[12] != b"\x12":
                self.sock.sendto(bytes([0x60, 0]) + mid, peer)
                mid_out += 1
                self.sock.sendto(
                    bytes([0x40 | len(token), 0x8F]) + mid_out.to_bytes(2, "big") + token, peer
                )
            else:
                self.sock.sendto(head + bytes([0x80]) + mid + token, peer)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(5)
        self.sock.close()


def test_run_fuzz_tallies_what_came_back():
    cases = fuzz.generate(4, 60)
    with Responder() as responder:
        report = fuzz.run_fuzz(
            ("127.0.0.1", responder.port, socket.AF_INET),
            cases,
            rate=1000,
            wait=0.15,
            probe_wait=0.5,
        )
    assert report["sent"] == 60 and report["alive_before"] and report["alive_after"]
    per = report["by_class"]
    assert per["bad-version"] == {
        "silence": len([c for c in cases if c[0].startswith("bad-version")])
    }
    assert set(per["token-length"]) == {"RST"}
    assert set(per["wrong-content-format"]) == {"4.15"}
    assert set(per["cose-truncated"]) == {"4.00"}
    assert responder.acks_received == per["wrong-content-format"]["4.15"]
    assert sum(report["tally"].values()) == 60 and report["accepted"] == []
    assert [c["label"] for c in report["cases"]] == [label for label, _ in cases]
    assert "device answered before: yes, after: yes" in fuzz.report_text(
        dict(report, target="t", seed=4)
    )


def test_fuzz_command_reports_a_silent_target(tmp_path, capsys):
    report_file = tmp_path / "r.json"
    with Responder(alive=False) as responder:
        status = cli.main(
            [
                "fuzz",
                "--target",
                "127.0.0.1:%d" % responder.port,
                "--count",
                "3",
                "--seed",
                "1",
                "--wait",
                "0.05",
                "--probe-wait",
                "0.1",
                "--report",
                str(report_file),
            ]
        )
    assert status == 3
    report = json.loads(report_file.read_text())
    assert report["tally"] == {"silence": 3} and report["alive_before"] is False
    assert "device answered before: NO" in capsys.readouterr().out


def test_only_loopback_targets():
    with pytest.raises(fuzz.NotLoopback):
        fuzz.parse_target("192.0.2.1:5683")
    assert fuzz.parse_target("127.0.0.1:5683")[:2] == ("127.0.0.1", 5683)
    assert cli.main(["fuzz", "--target", "192.0.2.1:5683", "--count", "1", "--seed", "1"]) == 2
