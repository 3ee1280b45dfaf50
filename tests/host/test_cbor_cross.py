"""meldbox.core.cbor cross-checked against cbor2 and CPython's own UTF-8 decoder.

Documents come from hypothesis strategies over the supported types; each hypothesis
example is a whole batch, decoded or encoded in ONE MicroPython run (tests/host/mphost.py),
so the file runs in seconds. The firmware module imported on CPython is held to the same
answers in-process.

Values are compared through a JSON-able rendering (bytes and text as hex, floats as their
IEEE double bits, map pairs sorted), printed by MicroPython and recomputed here from the
original Python value.
"""

import json
import random
import struct
import sys
from pathlib import Path

import cbor2
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.host import mphost

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "firmware"))
from meldbox.core import cbor as fw_cbor  # noqa: E402  (the firmware module, on CPython)
from meldbox.core import errors as fw_errors  # noqa: E402

MAX_DEPTH = 8
# Each example is a batch run on MicroPython: few examples, and no shrinking (it would
# rerun MicroPython hundreds of times; the failing input is in the assertion message).
BATCH = settings(
    max_examples=4,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)
U64 = 2**64

# --- strategies -----------------------------------------------------------------------

EDGE_INTS = [
    0,
    1,
    23,
    24,
    255,
    256,
    65535,
    65536,
    2**32 - 1,
    2**32,
    U64 - 1,
    -1,
    -24,
    -25,
    -256,
    -257,
    -65537,
    -(2**32) - 1,
    -U64,
]
INTS = st.one_of(st.sampled_from(EDGE_INTS), st.integers(-U64, U64 - 1))
UINTS = st.one_of(st.sampled_from([0, 23, 24, 255, 256, 65536, U64 - 1]), st.integers(0, U64 - 1))
NINTS = st.integers(-U64, -1)
FLOATS = st.floats(allow_nan=False)
TAG_NUMBERS = st.one_of(
    st.sampled_from([0, 1, 2, 18, 23, 24, 55799, 2**32, U64 - 1]), st.integers(0, U64 - 1)
)
KEYS = st.one_of(INTS, st.text(max_size=10), st.binary(max_size=10))


def _containers(children):
    return st.one_of(
        st.lists(children, max_size=5),
        st.dictionaries(KEYS, children, max_size=5),
        st.builds(cbor2.CBORTag, TAG_NUMBERS, children),
    )


# Anything loads() must accept (up to the depth limit): every supported type.
DECODABLE = st.recursive(
    st.one_of(
        INTS, st.binary(max_size=40), st.text(max_size=20), st.booleans(), st.none(), FLOATS
    ),
    _containers,
    max_leaves=30,
)


def _same_type_maps(children):
    # cbor2's canonical order is length-first; it equals RFC 8949 4.2.1's bytewise order
    # when all keys of a map share a major type and text/bytes keys are under 24 bytes.
    return st.one_of(
        st.lists(children, max_size=5),
        st.tuples(children, children),
        st.dictionaries(UINTS, children, max_size=4),
        st.dictionaries(NINTS, children, max_size=4),
        st.dictionaries(st.text(max_size=5), children, max_size=4),
        st.dictionaries(st.binary(max_size=23), children, max_size=4),
        st.builds(cbor2.CBORTag, TAG_NUMBERS, children),
    )


ENCODABLE_LEAVES = st.one_of(
    INTS, st.binary(max_size=40), st.text(max_size=20), st.booleans(), st.none()
)
ENCODABLE_CANONICAL = st.recursive(ENCODABLE_LEAVES, _same_type_maps, max_leaves=25)
# Keys of all types and any length in one map: checked against a bytewise reference.
ENCODABLE_MIXED = st.recursive(
    ENCODABLE_LEAVES,
    lambda c: st.one_of(
        st.lists(c, max_size=5),
        st.dictionaries(
            st.one_of(INTS, st.text(max_size=30), st.binary(max_size=30)), c, max_size=6
        ),
    ),
    max_leaves=25,
)

# --- rendering and expectations -------------------------------------------------------


def render(v):
    """The JSON-able rendering of a Python value, as MP_RENDER prints decoded ones."""
    if isinstance(v, bool):
        return ["?", int(v)]
    if v is None:
        return ["n"]
    if isinstance(v, int):
        return ["i", str(v)]
    if isinstance(v, float):
        return ["f", struct.pack(">d", v).hex()]
    if isinstance(v, (bytes, bytearray)):
        return ["b", bytes(v).hex()]
    if isinstance(v, str):
        return ["s", v.encode().hex()]
    if isinstance(v, (list, tuple)):
        return ["a", [render(x) for x in v]]
    if isinstance(v, dict):
        return ["m", [[render(k), render(x)] for k, x in v.items()]]
    if isinstance(v, (cbor2.CBORTag, fw_cbor.Tag)):
        return ["g", str(v.tag), render(v.value)]
    raise TypeError(type(v))


def normal(r):
    """Map pairs in a fixed order, so that dict ordering does not matter."""
    if r[0] == "a":
        return ["a", [normal(x) for x in r[1]]]
    if r[0] == "m":
        pairs = [[normal(k), normal(v)] for k, v in r[1]]
        return ["m", sorted(pairs, key=lambda p: json.dumps(p[0]))]
    if r[0] == "g":
        return ["g", r[1], normal(r[2])]
    return r


def depths(v):
    """(container depth, tag depth): the deepest path's count of each."""
    if isinstance(v, (list, tuple)):
        inner = [depths(x) for x in v]
    elif isinstance(v, dict):
        inner = [depths(x) for x in list(v.keys()) + list(v.values())]
    elif isinstance(v, cbor2.CBORTag):
        c, t = depths(v.value)
        return c, t + 1
    else:
        return 0, 0
    return 1 + max([c for c, _ in inner], default=0), max([t for _, t in inner], default=0)


def expected_decode(v):
    c, t = depths(v)
    if c > MAX_DEPTH or t > MAX_DEPTH:
        return ["E", "cbor-too-deep"]
    return normal(render(v))


def frame(blobs):
    return b"".join(len(b).to_bytes(4, "big") + b for b in blobs)


# --- MicroPython side -------------------------------------------------------------------

MP_DECODE = r"""
import sys, json, struct
from binascii import hexlify
from meldbox.core import cbor, errors

def h(b):
    return hexlify(b).decode()

def render(v):
    t = type(v)
    if t is bool: return ["?", 1 if v else 0]
    if v is None: return ["n"]
    if t is int: return ["i", str(v)]
    if t is float: return ["f", h(struct.pack(">d", v))]
    if t is bytes: return ["b", h(v)]
    if t is str: return ["s", h(v.encode())]
    if t is list: return ["a", [render(x) for x in v]]
    if t is dict: return ["m", [[render(k), render(x)] for k, x in v.items()]]
    if t is cbor.Tag: return ["g", str(v.tag), render(v.value)]
    return ["unexpected type", repr(t)]

data = open(sys.argv[1], "rb").read()
i = 0
while i < len(data):
    n = int.from_bytes(data[i:i + 4], "big")
    blob = data[i + 4:i + 4 + n]
    i += 4 + n
    try:
        out = render(cbor.loads(blob))
    except errors.ProtocolError as e:
        out = ["E", e.reason]
    except Exception as e:
        out = ["CRASH", repr(e)]
    print(json.dumps(out))
"""

MP_ENCODE = r"""
import sys
from binascii import hexlify
from meldbox.core.cbor import Tag, dumps

for line in open(sys.argv[1]):
    print(hexlify(dumps(eval(line))).decode())
"""


def mp_decode(blobs):
    out = mphost.run(MP_DECODE, data=frame(blobs)).splitlines()
    assert len(out) == len(blobs), out[-3:]
    return [json.loads(line) for line in out]


def fw_decode(blob):
    """The same rendering from the firmware module running on CPython."""
    try:
        return render(fw_cbor.loads(blob))
    except fw_errors.ProtocolError as e:
        return ["E", e.reason]


def source(v):
    """Python source for v that MicroPython's eval rebuilds (Tag for cbor2.CBORTag)."""
    if isinstance(v, cbor2.CBORTag):
        return "Tag(%d, %s)" % (v.tag, source(v.value))
    if isinstance(v, dict):
        return "{" + ", ".join("%s: %s" % (source(k), source(x)) for k, x in v.items()) + "}"
    if isinstance(v, list):
        return "[" + ", ".join(source(x) for x in v) + "]"
    if isinstance(v, tuple):
        return "(" + "".join(source(x) + ", " for x in v) + ")"
    if isinstance(v, str):
        return ascii(v)
    return repr(v)


def to_fw(v):
    """v with cbor2 tags replaced by the firmware's Tag, for fw_cbor.dumps on CPython."""
    if isinstance(v, cbor2.CBORTag):
        return fw_cbor.Tag(v.tag, to_fw(v.value))
    if isinstance(v, dict):
        return {k: to_fw(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return type(v)(to_fw(x) for x in v)
    return v


def mp_encode(docs):
    lines = "".join(source(d) + "\n" for d in docs).encode()
    out = mphost.run(MP_ENCODE, data=lines).splitlines()
    assert len(out) == len(docs), out[-3:]
    return [bytes.fromhex(line) for line in out]


def bytewise_reference(v):
    """RFC 8949 4.2.1 encoding written independently of the firmware: cbor2 (canonical)
    encodes every element; maps are reassembled with keys sorted by their bytes."""
    if isinstance(v, dict):
        n = len(v)
        head = bytes([0xA0 | n]) if n < 24 else b"\xb8" + bytes([n])
        pairs = sorted(
            (cbor2.dumps(k, canonical=True), bytewise_reference(x)) for k, x in v.items()
        )
        return head + b"".join(k + x for k, x in pairs)
    if isinstance(v, (list, tuple)):
        n = len(v)
        head = bytes([0x80 | n]) if n < 24 else b"\x98" + bytes([n])
        return head + b"".join(bytewise_reference(x) for x in v)
    return cbor2.dumps(v, canonical=True)


# --- tests ------------------------------------------------------------------------------


@BATCH
@given(st.lists(DECODABLE, min_size=60, max_size=80), st.randoms(use_true_random=False))
def test_random_documents_decode_like_cbor2_encoded_them(docs, rnd):
    blobs, want = [], []
    for doc in docs:
        for canonical in (False, True):  # doubles, and the shortest float widths
            blob = cbor2.dumps(doc, canonical=canonical)
            blobs.append(blob)
            want.append(expected_decode(doc))
        # Any strict prefix of a valid item is truncated; one more byte is trailing.
        exp = expected_decode(doc)
        blobs.append(blob[: rnd.randrange(len(blob))])
        want.append(exp if exp[0] == "E" else ["E", "cbor-truncated"])
        blobs.append(blob + b"\x00")
        want.append(exp if exp[0] == "E" else ["E", "cbor-trailing-bytes"])
    got = [normal(r) for r in mp_decode(blobs)]
    for blob, g, w in zip(blobs, got, want):
        assert g == w, blob.hex()
        assert normal(fw_decode(blob)) == w, blob.hex()


@BATCH
@given(st.lists(ENCODABLE_CANONICAL, min_size=60, max_size=80))
def test_dumps_equals_cbor2_canonical(docs):
    got = mp_encode(docs)
    for doc, enc in zip(docs, got):
        want = cbor2.dumps(doc, canonical=True)
        assert enc == want, source(doc)
        assert fw_cbor.dumps(to_fw(doc)) == want, source(doc)


@BATCH
@given(st.lists(ENCODABLE_MIXED, min_size=60, max_size=80))
def test_dumps_sorts_mixed_keys_bytewise(docs):
    got = mp_encode(docs)
    for doc, enc in zip(docs, got):
        want = bytewise_reference(doc)
        assert enc == want, source(doc)
        assert fw_cbor.dumps(to_fw(doc)) == want, source(doc)
        # Deterministic encoding is a fixed point of decode-then-encode.
        assert fw_cbor.dumps(fw_cbor.loads(enc)) == enc


def test_bytewise_order_differs_from_cbor2_length_first():
    # The case where cbor2's canonical order is not RFC 8949 4.2.1's: the firmware
    # must follow the RFC (256 encodes as 19 01 00, before "a" = 61 61).
    doc = {"a": 1, 256: 2}
    assert cbor2.dumps(doc, canonical=True).hex() == "a261610119010002"
    assert mp_encode([doc]) == [bytes.fromhex("a219010002616101")]


def _text_item(raw):
    n = len(raw)
    head = (
        bytes([0x60 | n])
        if n < 24
        else b"\x78" + bytes([n])
        if n < 256
        else b"\x79" + n.to_bytes(2, "big")
    )
    return head + raw


def _utf8_samples(rnd, count):
    """Byte strings near the edges of UTF-8: encodings of random code points from every
    sequence length (surrogates included, via surrogatepass), then mutated: a byte
    replaced by a lead or continuation byte, a byte dropped, or the string cut short."""
    edges = [
        0x80,
        0xBF,
        0xC0,
        0xC1,
        0xC2,
        0xDF,
        0xE0,
        0xED,
        0xEF,
        0xF0,
        0xF4,
        0xF5,
        0xFF,
        0x9F,
        0xA0,
        0x8F,
        0x90,
    ]
    ranges = [(0, 0x7F), (0x80, 0x7FF), (0x800, 0xFFFF), (0x10000, 0x10FFFF)]
    out = []
    for _ in range(count):
        chars = []
        for _ in range(rnd.randrange(1, 6)):
            lo, hi = rnd.choice(ranges) if rnd.random() > 0.05 else (0xD800, 0xDFFF)
            chars.append(chr(rnd.randint(lo, hi)))
        raw = bytearray("".join(chars).encode("utf-8", "surrogatepass"))
        op = rnd.randrange(5)
        if op == 0:
            raw[rnd.randrange(len(raw))] = rnd.choice(edges)
        elif op == 1:
            del raw[rnd.randrange(len(raw))]
        elif op == 2:
            raw = raw[: rnd.randrange(len(raw) + 1)]
        elif op == 3:
            raw.insert(rnd.randrange(len(raw) + 1), rnd.choice(edges))
        out.append(bytes(raw))
    return out


def test_utf8_validation_agrees_with_cpython():
    raws = _utf8_samples(random.Random(3629), 1500)
    blobs = [_text_item(r) for r in raws]
    want = []
    for raw in raws:
        try:
            want.append(render(raw.decode("utf-8")))  # CPython's decoder is strict RFC 3629
        except UnicodeDecodeError:
            want.append(["E", "cbor-invalid-utf8"])
    # The batch must exercise both outcomes, and non-ASCII text on the accepting side.
    assert 300 < sum(w[0] == "E" for w in want) < 1200
    assert sum(w[0] == "s" and max(raw, default=0) > 0x7F for raw, w in zip(raws, want)) > 300
    got = mp_decode(blobs)
    for raw, blob, g, w in zip(raws, blobs, got, want):
        assert g == w, raw.hex()
        assert fw_decode(blob) == w, raw.hex()


def _nested(n):
    doc = 1
    for _ in range(n):
        doc = [doc]
    return doc


FORBIDDEN = [
    ("9 nested arrays", cbor2.dumps(_nested(9)), "cbor-too-deep"),
    (
        "9 nested maps",
        cbor2.dumps({"k": {"k": {"k": {"k": {"k": {"k": {"k": {"k": {"k": 1}}}}}}}}}),
        "cbor-too-deep",
    ),
    (
        "9 nested tags",
        cbor2.dumps(
            cbor2.CBORTag(
                1,
                cbor2.CBORTag(
                    1,
                    cbor2.CBORTag(
                        1,
                        cbor2.CBORTag(
                            1,
                            cbor2.CBORTag(
                                1,
                                cbor2.CBORTag(
                                    1, cbor2.CBORTag(1, cbor2.CBORTag(1, cbor2.CBORTag(1, 0)))
                                ),
                            ),
                        ),
                    ),
                ),
            )
        ),
        "cbor-too-deep",
    ),
    ("indefinite bytes", bytes.fromhex("5f42010243030405ff"), "cbor-indefinite-length"),
    ("indefinite text", bytes.fromhex("7f657374726561646d696e67ff"), "cbor-indefinite-length"),
    ("indefinite array", bytes.fromhex("9f018202039f0405ffff"), "cbor-indefinite-length"),
    ("indefinite map", bytes.fromhex("bf61610161629f0203ffff"), "cbor-indefinite-length"),
    (
        "duplicate int key",
        bytes.fromhex("a2") + cbor2.dumps(1) + b"\x00" + cbor2.dumps(1) + b"\x01",
        "cbor-duplicate-key",
    ),
    (
        "duplicate text key",
        bytes.fromhex("a2") + cbor2.dumps("iss") + b"\x00" + cbor2.dumps("iss") + b"\x01",
        "cbor-duplicate-key",
    ),
    ("overlong UTF-8", _text_item(b"\xc0\x80"), "cbor-invalid-utf8"),
    (
        "UTF-8 surrogate",
        _text_item("\ud800".encode("utf-8", "surrogatepass")),
        "cbor-invalid-utf8",
    ),
    ("truncated UTF-8", _text_item("\u6c34".encode()[:2]), "cbor-invalid-utf8"),
    ("undefined", cbor2.dumps(cbor2.undefined), "cbor-unsupported"),
    ("simple 16", cbor2.dumps(cbor2.CBORSimpleValue(16)), "cbor-unsupported"),
    ("simple 32", cbor2.dumps(cbor2.CBORSimpleValue(32)), "cbor-unsupported"),
    ("two-byte simple 24", bytes.fromhex("f818"), "cbor-not-well-formed"),
    ("ai 28", bytes.fromhex("1c"), "cbor-not-well-formed"),
    ("ai 30", bytes.fromhex("5e"), "cbor-not-well-formed"),
    ("lone break", bytes.fromhex("ff"), "cbor-not-well-formed"),
    ("float key", cbor2.dumps({1.5: 1}), "cbor-unsupported"),
    ("array key", cbor2.dumps({(1, 2): 1}), "cbor-unsupported"),
    ("bool key", cbor2.dumps({True: 1}), "cbor-unsupported"),
    ("tag key", bytes.fromhex("a1c10101"), "cbor-unsupported"),
    ("trailing bytes", cbor2.dumps({"v": 1}) + b"\xf6", "cbor-trailing-bytes"),
    ("empty", b"", "cbor-truncated"),
    ("huge byte string", bytes.fromhex("5bffffffffffffffff") + b"\x00", "cbor-truncated"),
    ("huge array", bytes.fromhex("9bffffffffffffffff") + b"\x00" * 16, "cbor-truncated"),
    ("huge map", bytes.fromhex("ba7fffffff") + b"\x00" * 16, "cbor-truncated"),
    ("map count past the end", cbor2.dumps({"a": 1, "b": 2})[:-1], "cbor-truncated"),
]


def test_forbidden_constructs_rejected_with_their_reason():
    got = mp_decode([blob for _, blob, _ in FORBIDDEN])
    for (name, blob, reason), g in zip(FORBIDDEN, got):
        assert g == ["E", reason], name
        assert fw_decode(blob) == ["E", reason], name


def test_depth_8_accepted_from_cbor2():
    blobs = [cbor2.dumps(_nested(8)), cbor2.dumps(cbor2.CBORTag(18, _nested(8)))]
    got = mp_decode(blobs)
    assert got[0] == normal(render(_nested(8)))
    assert got[1] == ["g", "18", normal(render(_nested(8)))]
