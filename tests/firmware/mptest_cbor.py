# heapsize: 256K
"""meldbox.core.cbor on MicroPython: RFC 8949 Appendix A examples (decode, and encode back
where the example is deterministic), every rejection with its error class, depth and
allocation limits, the deterministic encoder, and a seeded fuzz run.

The heap also proves the size checks: a decoder that allocated for a huge declared count
would hit MemoryError, which these tests count as a failure."""
import struct
from binascii import hexlify, unhexlify

from mptest import eq, raises, refused

from meldbox.core import cbor, errors

Tag = cbor.Tag


def h(s):
    return unhexlify(s.replace(" ", ""))


# RFC 8949 Appendix A, the examples within the supported set: (hex, value, deterministic).
# deterministic: dumps(value) gives the same bytes back.
APPENDIX_A = [
    ("00", 0, True),
    ("01", 1, True),
    ("0a", 10, True),
    ("17", 23, True),
    ("1818", 24, True),
    ("1819", 25, True),
    ("1864", 100, True),
    ("1903e8", 1000, True),
    ("1a000f4240", 1000000, True),
    ("1b000000e8d4a51000", 1000000000000, True),
    ("1bffffffffffffffff", 18446744073709551615, True),
    ("c249010000000000000000", Tag(2, h("010000000000000000")), True),
    ("3bffffffffffffffff", -18446744073709551616, True),
    ("c349010000000000000000", Tag(3, h("010000000000000000")), True),
    ("20", -1, True),
    ("29", -10, True),
    ("3863", -100, True),
    ("3903e7", -1000, True),
    ("f4", False, True),
    ("f5", True, True),
    ("f6", None, True),
    ("c074323031332d30332d32315432303a30343a30305a", Tag(0, "2013-03-21T20:04:00Z"), True),
    ("c11a514b67b0", Tag(1, 1363896240), True),
    ("d74401020304", Tag(23, h("01020304")), True),
    ("d818456449455446", Tag(24, h("6449455446")), True),
    ("d82076687474703a2f2f7777772e6578616d706c652e636f6d",
     Tag(32, "http://www.example.com"), True),
    ("40", b"", True),
    ("4401020304", h("01020304"), True),
    ("60", "", True),
    ("6161", "a", True),
    ("6449455446", "IETF", True),
    ("62225c", "\"\\", True),
    ("62c3bc", "\u00fc", True),
    ("63e6b0b4", "\u6c34", True),
    ("64f0908591", "\U00010151", True),
    ("80", [], True),
    ("83010203", [1, 2, 3], True),
    ("8301820203820405", [1, [2, 3], [4, 5]], True),
    ("98190102030405060708090a0b0c0d0e0f101112131415161718181819", list(range(1, 26)), True),
    ("a0", {}, True),
    ("a201020304", {1: 2, 3: 4}, True),
    ("a26161016162820203", {"a": 1, "b": [2, 3]}, True),
    ("826161a161626163", ["a", {"b": "c"}], True),
    ("a56161614161626142616361436164614461656145",
     {"a": "A", "b": "B", "c": "C", "d": "D", "e": "E"}, True),
]

# Appendix A floats: (hex, IEEE double bits of the value). Compared bit for bit, since
# MicroPython's float literal parser is not always correctly rounded.
APPENDIX_A_FLOATS = [
    ("f90000", "0000000000000000"),
    ("f98000", "8000000000000000"),
    ("f93c00", "3ff0000000000000"),
    ("fb3ff199999999999a", "3ff199999999999a"),
    ("f93e00", "3ff8000000000000"),
    ("f97bff", "40effc0000000000"),
    ("fa47c35000", "40f86a0000000000"),
    ("fa7f7fffff", "47efffffe0000000"),
    ("fb7e37e43c8800759c", "7e37e43c8800759c"),
    ("f90001", "3e70000000000000"),
    ("f90400", "3f10000000000000"),
    ("f9c400", "c010000000000000"),
    ("fbc010666666666666", "c010666666666666"),
    ("f97c00", "7ff0000000000000"),
    ("f9fc00", "fff0000000000000"),
    ("fa7f800000", "7ff0000000000000"),
    ("faff800000", "fff0000000000000"),
    ("fb7ff0000000000000", "7ff0000000000000"),
    ("fbfff0000000000000", "fff0000000000000"),
]

# Every input the decoder must refuse, with the reason it must refuse it with.
REJECT = [
    # empty and truncated input
    ("empty", "", "cbor-truncated"),
    ("uint8 head cut", "18", "cbor-truncated"),
    ("uint16 head cut", "1900", "cbor-truncated"),
    ("uint32 head cut", "1a000000", "cbor-truncated"),
    ("uint64 head cut", "1b00000000000000", "cbor-truncated"),
    ("float32 cut", "fa4049", "cbor-truncated"),
    ("simple8 cut", "f8", "cbor-truncated"),
    ("bytes cut", "44010203", "cbor-truncated"),
    ("text cut", "6361", "cbor-truncated"),
    ("array item missing", "8201", "cbor-truncated"),
    ("map value missing", "a101", "cbor-truncated"),
    ("tag content missing", "c1", "cbor-truncated"),
    # declared sizes the input cannot hold: refused before any allocation
    ("huge bytes", "5bffffffffffffffff", "cbor-truncated"),
    ("huge bytes + 1", "5bffffffffffffffff00", "cbor-truncated"),
    ("huge text", "7bffffffffffffffff00", "cbor-truncated"),
    ("huge array", "9bffffffffffffffff00", "cbor-truncated"),
    ("huge map", "bbffffffffffffffff00", "cbor-truncated"),
    ("array 2^31", "9a7fffffff00", "cbor-truncated"),
    ("bytes 2^32-1", "5affffffff0000", "cbor-truncated"),
    ("map count > half the rest", "a30102030405", "cbor-truncated"),
    # indefinite lengths
    ("indefinite bytes", "5f42010243030405ff", "cbor-indefinite-length"),
    ("indefinite text", "7f657374726561646d696e67ff", "cbor-indefinite-length"),
    ("indefinite array", "9fff", "cbor-indefinite-length"),
    ("indefinite inner array", "83018202039f0405ff", "cbor-indefinite-length"),
    ("indefinite map", "bf61610161629f0203ffff", "cbor-indefinite-length"),
    # reserved additional information and misplaced breaks
    ("ai 28", "1c", "cbor-not-well-formed"),
    ("ai 29", "1d", "cbor-not-well-formed"),
    ("ai 30", "1e", "cbor-not-well-formed"),
    ("ai 28 nint", "3c", "cbor-not-well-formed"),
    ("ai 29 bytes", "5d", "cbor-not-well-formed"),
    ("ai 30 text", "7e", "cbor-not-well-formed"),
    ("ai 28 array", "9c", "cbor-not-well-formed"),
    ("ai 29 map", "bd", "cbor-not-well-formed"),
    ("ai 30 tag", "de", "cbor-not-well-formed"),
    ("ai 28 simple", "fc", "cbor-not-well-formed"),
    ("ai 31 uint", "1f", "cbor-not-well-formed"),
    ("ai 31 nint", "3f", "cbor-not-well-formed"),
    ("ai 31 tag", "df", "cbor-not-well-formed"),
    ("lone break", "ff", "cbor-not-well-formed"),
    ("break in definite array", "8201ff", "cbor-not-well-formed"),
    ("break as map key", "a1ff01", "cbor-not-well-formed"),
    ("reserved ai as map key", "a1fc01", "cbor-not-well-formed"),
    ("reserved two-byte simple 0", "f800", "cbor-not-well-formed"),
    ("reserved two-byte simple 24", "f818", "cbor-not-well-formed"),
    ("reserved two-byte simple 31", "f81f", "cbor-not-well-formed"),
    # simple values this protocol does not use
    ("undefined", "f7", "cbor-unsupported"),
    ("simple 16", "f0", "cbor-unsupported"),
    ("simple 32", "f820", "cbor-unsupported"),
    ("simple 255", "f8ff", "cbor-unsupported"),
    # map keys other than int, text, bytes
    ("array key", "a18001", "cbor-unsupported"),
    ("map key", "a1a001", "cbor-unsupported"),
    ("tag key", "a1c10101", "cbor-unsupported"),
    ("float key", "a1f93c0001", "cbor-unsupported"),
    ("bool key", "a1f501", "cbor-unsupported"),
    ("null key", "a1f601", "cbor-unsupported"),
    # duplicate keys, compared by value
    ("duplicate int key", "a201020103", "cbor-duplicate-key"),
    ("duplicate negative key", "a2200120f6", "cbor-duplicate-key"),
    ("duplicate text key", "a3616101616202616103", "cbor-duplicate-key"),
    ("duplicate bytes key", "a241000141000f", "cbor-duplicate-key"),
    ("duplicate key, longer head", "a20102180103", "cbor-duplicate-key"),
    ("duplicate key in nested map", "81a2616b01616b02", "cbor-duplicate-key"),
    # invalid UTF-8 (RFC 3629)
    ("overlong NUL C0 80", "62c080", "cbor-invalid-utf8"),
    ("overlong C1 BF", "62c1bf", "cbor-invalid-utf8"),
    ("overlong 3-byte E0 80 80", "63e08080", "cbor-invalid-utf8"),
    ("overlong 3-byte E0 9F BF", "63e09fbf", "cbor-invalid-utf8"),
    ("overlong 4-byte F0 80 80 80", "64f0808080", "cbor-invalid-utf8"),
    ("overlong 4-byte F0 8F BF BF", "64f08fbfbf", "cbor-invalid-utf8"),
    ("surrogate U+D800", "63eda080", "cbor-invalid-utf8"),
    ("surrogate U+DFFF", "63edbfbf", "cbor-invalid-utf8"),
    ("surrogate pair as CESU-8", "66eda0bdedb0b8", "cbor-invalid-utf8"),
    ("above U+10FFFF F4 90", "64f4908080", "cbor-invalid-utf8"),
    ("lead F5", "64f5808080", "cbor-invalid-utf8"),
    ("byte FF", "61ff", "cbor-invalid-utf8"),
    ("byte FE", "61fe", "cbor-invalid-utf8"),
    ("lone continuation", "6180", "cbor-invalid-utf8"),
    ("continuation after ASCII", "636162bf", "cbor-invalid-utf8"),
    ("2-byte cut at end", "6261c3", "cbor-invalid-utf8"),
    ("3-byte cut at end", "6361e6b0", "cbor-invalid-utf8"),
    ("4-byte cut at end", "6461f09084", "cbor-invalid-utf8"),
    ("3-byte cut by ASCII", "63e6b061", "cbor-invalid-utf8"),
    ("2-byte cut by lead byte", "62c3c3", "cbor-invalid-utf8"),
    ("invalid UTF-8 in a map key", "a162c08001", "cbor-invalid-utf8"),
    # trailing bytes
    ("trailing byte", "0000", "cbor-trailing-bytes"),
    ("trailing after array", "8101ff", "cbor-trailing-bytes"),
    ("two maps", "a0a0", "cbor-trailing-bytes"),
]


def _appendix_case(hexs, value, deterministic):
    def run():
        data = h(hexs)
        eq(cbor.loads(data), value, hexs)
        if deterministic:
            eq(hexlify(cbor.dumps(value)), hexlify(data), "dumps")
    return run


def _float_case(hexs, bits):
    def run():
        got = cbor.loads(h(hexs))
        eq(type(got), float, hexs)
        eq(hexlify(struct.pack(">d", got)), bits.encode(), hexs)
    return run


def _reject_case(hexs, reason):
    def run():
        e = refused(reason, cbor.loads, h(hexs))
        # The exact reason, not a sibling of the same family.
        eq(e.reason, reason, hexs)
        eq(e.code, errors.BAD_REQUEST, hexs)
        assert len(str(e)) > 10, "error detail too thin: %r" % str(e)
    return run


def cases():
    out = []
    for hexs, value, det in APPENDIX_A:
        out.append(("appendix_a " + hexs[:24], _appendix_case(hexs, value, det)))
    for hexs, bits in APPENDIX_A_FLOATS:
        out.append(("appendix_a float " + hexs, _float_case(hexs, bits)))
    for name, hexs, reason in REJECT:
        out.append(("reject " + name, _reject_case(hexs, reason)))
    return out


def test_nan_decodes_from_every_width():
    for hexs in ("f97e00", "fa7fc00000", "fb7ff8000000000000"):
        x = cbor.loads(h(hexs))
        assert x != x, "%s -> %r is not NaN" % (hexs, x)


def test_accepts_bytearray_and_memoryview_with_offset():
    data = h("a26161016162820203")
    want = {"a": 1, "b": [2, 3]}
    eq(cbor.loads(bytearray(data)), want)
    eq(cbor.loads(memoryview(b"zz" + data)[2:]), want)
    # A view that ends early is a truncated item, not a read past the view.
    refused("cbor-truncated", cbor.loads, memoryview(data)[:-1])


def test_decoded_types():
    got = cbor.loads(h("83 43616263 63616263 f5"))
    eq(type(got[0]), bytes)
    eq(type(got[1]), str)
    eq(got[2] is True, True)


def test_depth_boundary_8_and_9():
    eq(cbor.loads(h("81" * 8 + "01")), [[[[[[[[1]]]]]]]])
    refused("cbor-too-deep", cbor.loads, h("81" * 9 + "01"))
    # Maps count like arrays: 8 levels of {"k": ...}.
    eight_maps = h("a1616b" * 8 + "01")
    value = cbor.loads(eight_maps)
    for _ in range(8):
        value = value["k"]
    eq(value, 1)
    refused("cbor-too-deep", cbor.loads, h("a1616b" * 9 + "01"))
    # Depth is counted, not the number of containers: many siblings are fine.
    eq(len(cbor.loads(h("98 20" + "80" * 32))), 32)


def test_depth_limit_is_a_parameter():
    eq(cbor.loads(h("8101"), max_depth=1), [1])
    refused("cbor-too-deep", cbor.loads, h("818101"), max_depth=1)
    eq(cbor.loads(h("01"), max_depth=0), 1)
    refused("cbor-too-deep", cbor.loads, h("80"), max_depth=0)


def test_tags_do_not_count_as_depth_but_are_capped():
    # 8 arrays, each under a tag: containers at depth 8, tag chain at 8.
    want = 1
    for _ in range(8):
        want = Tag(18, [want])
    eq(cbor.loads(h("d281" * 8 + "01")), want)
    refused("cbor-too-deep", cbor.loads, h("d281" * 9 + "01"))
    got = cbor.loads(h("d2" + "81" * 8 + "01"))
    eq(got.tag, 18)
    eq(got.value, [[[[[[[[1]]]]]]]])
    eq(cbor.loads(h("c1" * 8 + "01")), Tag(1, Tag(1, Tag(1, Tag(1, Tag(1, Tag(1, Tag(1, Tag(1, 1)))))))))  # noqa: E501
    refused("cbor-too-deep", cbor.loads, h("c1" * 9 + "01"))
    # A long chain of tags is refused long before recursion could run out.
    refused("cbor-too-deep", cbor.loads, b"\xc1" * 5000 + b"\x01")
    refused("cbor-too-deep", cbor.loads, b"\x81" * 5000 + b"\x01")


def test_error_detail_names_the_offset():
    e = refused("cbor-invalid-utf8", cbor.loads, h("a2 6161 01 6162 63 61 c0 80"))
    assert "offset 8" in str(e) and "offset 6" in str(e), str(e)
    e = refused("cbor-duplicate-key", cbor.loads, h("a2 6161 01 6161 02"))
    assert "offset 4" in str(e), str(e)
    e = refused("cbor-trailing-bytes", cbor.loads, h("0102"))
    assert "offset 1" in str(e), str(e)
    e = refused("cbor-truncated", cbor.loads, h("82 01 5bffffffffffffffff"))
    assert "offset 2" in str(e), str(e)


def test_errors_are_protocol_errors_with_4_00():
    e = refused("cbor", cbor.loads, h("ff"))
    assert isinstance(e, errors.ProtocolError)
    eq(e.code, errors.BAD_REQUEST)
    eq(e.reason, "cbor-not-well-formed")


def test_non_ascii_text_round_trips():
    text = "Gr\u00fc\u00dfe \u6c34 \U0001f600 caf\u00e9 \u20ac\u00a0\u07ff\u0800\uffff\U0010ffff"
    enc = cbor.dumps(text)
    eq(cbor.loads(enc), text)
    # Edge code points at each sequence length boundary decode as themselves.
    for cp in (0x7F, 0x80, 0x7FF, 0x800, 0xD7FF, 0xE000, 0xFFFF, 0x10000, 0x10FFFF):
        s = chr(cp)
        eq(cbor.loads(cbor.dumps(s)), s, hex(cp))


def test_dumps_shortest_heads():
    for value, hexs in ((0, "00"), (23, "17"), (24, "1818"), (255, "18ff"), (256, "190100"),
                        (65535, "19ffff"), (65536, "1a00010000"), (4294967295, "1affffffff"),
                        (4294967296, "1b0000000100000000"), (-24, "37"), (-25, "3818"),
                        (-256, "38ff"), (-257, "390100"), (-4294967297, "3b0000000100000000"),
                        (b"x" * 24, "5818" + "78" * 24), ("y" * 23, "77" + "79" * 23)):
        eq(hexlify(cbor.dumps(value)), hexs.encode(), repr(value)[:20])


def test_dumps_sorts_keys_bytewise_by_encoding():
    # RFC 8949 4.2.1 example order, for the key types the protocol uses.
    enc = cbor.dumps({"aa": 5, "z": 4, -1: 3, 100: 2, 10: 1})
    eq(hexlify(enc), b"a50a011864022003617a0462616105")
    # Bytewise, not length-first: a 30-byte bytes key (head 0x58) sorts before "a" (0x61).
    enc = cbor.dumps({"a": 1, b"\x00" * 30: 2})
    eq(enc[1], 0x58)
    eq(cbor.loads(enc), {"a": 1, b"\x00" * 30: 2})


def test_dumps_other_containers_and_tags():
    eq(cbor.dumps((1, [2])), h("82018102"))
    eq(cbor.dumps(bytearray(b"ab")), h("426162"))
    eq(cbor.dumps(memoryview(b"xab")[1:]), h("426162"))
    eq(cbor.dumps(Tag(18, [b"", {}, None, b"s"])), h("d28440a0f64173"))
    eq(cbor.dumps(Tag(2 ** 64 - 1, 0)), h("dbffffffffffffffff00"))
    eq(cbor.dumps({1: -8}), h("a10127"))


def test_dumps_rejects_what_it_cannot_encode():
    raises(ValueError, cbor.dumps, 2 ** 64)
    raises(ValueError, cbor.dumps, -(2 ** 64) - 1)
    raises(ValueError, cbor.dumps, [1, {"x": 2 ** 70}])
    raises(ValueError, cbor.dumps, Tag(-1, 0))
    raises(TypeError, cbor.dumps, 1.5)
    raises(TypeError, cbor.dumps, {"x": 0.0})
    raises(TypeError, cbor.dumps, {1, 2})
    raises(TypeError, cbor.dumps, object())
    raises(TypeError, cbor.dumps, {(1, 2): 3})
    raises(TypeError, cbor.dumps, {True: 3})
    eq(cbor.dumps(2 ** 64 - 1), h("1bffffffffffffffff"))
    eq(cbor.dumps(-(2 ** 64)), h("3bffffffffffffffff"))


def test_tag_equality():
    eq(Tag(1, [1]), Tag(1, [1]))
    assert Tag(1, [1]) != Tag(2, [1])
    assert Tag(1, [1]) != Tag(1, [2])
    assert Tag(1, 1) != 1
    assert not (Tag(1, 1) == (1, 1))


class _Rng:
    """xorshift32: the same sequence on every run and both Pythons."""

    def __init__(self, seed):
        self.s = seed

    def next(self):
        s = self.s
        s ^= (s << 13) & 0xFFFFFFFF
        s ^= s >> 17
        s ^= (s << 5) & 0xFFFFFFFF
        self.s = s
        return s

    def below(self, n):
        return self.next() % n


# A notice-like payload (nested maps and arrays, text with non-ASCII, bytes, ints, bools)
# and a COSE_Sign1-shaped document around it (tag, bstr-wrapped headers).
SEED_PAYLOAD = cbor.dumps({"v": 1, "t": "notice", "id": b"\x01" * 8, "iat": 1767225600,
                           "test": True, "due": -1, "note": "caf\u00e9 \u6c34 \U0001f600",
                           "items": [{"url": "/x", "sha256": b"\x02" * 4}, {"url": "/y"}]})
SEED_COSE = cbor.dumps(Tag(18, [cbor.dumps({1: -8}), {4: b"\x01" * 8}, SEED_PAYLOAD, b"\x00" * 8]))
INTERESTING = b"\x00\x17\x18\x1b\x1c\x1f\x3f\x5b\x5f\x7b\x7f\x80\x9b\x9f\xa1\xbb\xbf\xc0\xc2\xdf\xed\xf0\xf4\xf7\xf8\xf9\xfb\xfc\xff"  # noqa: E501


def _mutate(rng, base):
    doc = bytearray(base)
    for _ in range(1 + rng.below(3)):
        if not doc:
            break
        op = rng.below(4)
        pos = rng.below(len(doc))
        if op == 0:
            doc[pos] = rng.below(256)
        elif op == 1:
            doc[pos] = INTERESTING[rng.below(len(INTERESTING))]
        elif op == 2:
            doc = doc[:pos]
        else:
            doc[pos:pos] = bytes([INTERESTING[rng.below(len(INTERESTING))]])
    return doc


def test_fuzz_mutated_documents_raise_only_cbor_errors():
    # The seeds must themselves decode, or the mutations test nothing interesting.
    eq(cbor.loads(cbor.loads(SEED_COSE).value[2]), cbor.loads(SEED_PAYLOAD))
    rng = _Rng(0x1234567)
    decoded = 0
    for k in range(2000):
        doc = _mutate(rng, SEED_PAYLOAD if k & 1 else SEED_COSE)
        try:
            cbor.loads(doc)
            decoded += 1
        except errors.ProtocolError as e:
            if not e.reason.startswith("cbor"):
                raise AssertionError("%s on %s" % (e.reason, hexlify(doc)))
        except Exception as e:  # anything else is the bug this test looks for
            raise AssertionError("%s on %s" % (repr(e), hexlify(doc)))
    # Some mutations (inside strings, small ints) still decode: the fuzz reaches deep.
    assert 0 < decoded < 2000, decoded


def test_fuzz_random_bytes_raise_only_cbor_errors():
    rng = _Rng(0xC0FFEE)
    for n in range(1500):  # noqa: B007
        size = 1 + rng.below(12)
        doc = bytes([rng.below(256) for _ in range(size)])
        try:
            cbor.loads(doc)
        except errors.ProtocolError as e:
            if not e.reason.startswith("cbor"):
                raise AssertionError("%s on %s" % (e.reason, hexlify(doc)))
        except Exception as e:
            raise AssertionError("%s on %s" % (repr(e), hexlify(doc)))
