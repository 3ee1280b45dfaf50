"""The CoAP datagram codec (meldbox/coap/message.py) and coap:// URIs (uri.py):
round trips, option header forms at their boundaries, every malformed form, the
option table rules of RFC 7252 5.4, Block option values."""
from mptest import eq, raises  # noqa: I001
from meldbox.coap import message as m
from meldbox.coap import uri
from meldbox.core import errors


def test_rfc7252_figure_16_get_temperature():
    # RFC 7252 appendix A, figure 16: CON GET mid 0x7d34, Uri-Path "temperature".
    msg = m.Message(m.CON, m.GET, 0x7D34).add(m.URI_PATH, "temperature")
    wire = bytes([0x40, 0x01, 0x7D, 0x34, 0xBB]) + b"temperature"
    eq(msg.encode(), wire)
    back = m.decode(wire)
    eq((back.mtype, back.code, back.mid, back.token), (m.CON, m.GET, 0x7D34, b""))
    eq(back.strings(m.URI_PATH), ["temperature"])


def test_round_trip_with_token_options_and_payload():
    for tkl in range(9):
        token = bytes(range(1, tkl + 1))
        msg = m.Message(m.NON, m.POST, 0xBEEF, token)
        msg.add(m.URI_PATH, "a").add(m.URI_PATH, "b").add(m.CONTENT_FORMAT, 18)
        msg.add(m.URI_QUERY, "x=1").add(m.BLOCK1, m.block_value(3, True, 6))
        msg.add(m.SIZE1, 6144).add(m.REQUEST_TAG, b"\x01\x02")
        msg.payload = b"\x00payload\xff"
        back = m.decode(msg.encode())
        eq((back.mtype, back.code, back.mid, back.token), (m.NON, m.POST, 0xBEEF, token))
        eq(back.options, msg.options)
        eq(bytes(back.payload), b"\x00payload\xff")
        eq(back.uint(m.CONTENT_FORMAT), 18)
        eq(m.block_fields(back.uint(m.BLOCK1)), (3, True, 6))
        eq(back.encode(), msg.encode())


def test_all_types_and_the_empty_message():
    for mtype in (m.CON, m.NON, m.ACK, m.RST):
        wire = m.Message(mtype, m.EMPTY, 0x0102).encode()
        eq(wire, bytes([0x40 | mtype << 4, 0, 1, 2]))
        eq(m.decode(wire).mtype, mtype)


def header_of(number, length):
    """Encode one option after option 0 and return the bytes before its value."""
    msg = m.Message(m.CON, m.GET, 1).add(number, bytes(length))
    return msg.encode()[4:-length] if length else msg.encode()[4:]


def test_option_delta_boundaries():
    eq(header_of(12, 0), bytes([0xC0]))
    eq(header_of(13, 0), bytes([0xD0, 0x00]))
    eq(header_of(268, 0), bytes([0xD0, 0xFF]))
    eq(header_of(269, 0), bytes([0xE0, 0x00, 0x00]))
    eq(header_of(65804, 0), bytes([0xE0, 0xFF, 0xFF]))
    raises(ValueError, m.Message(m.CON, m.GET, 1).add(65805, b"").encode)


def test_option_length_boundaries():
    eq(header_of(1, 12), bytes([0x1C]))
    eq(header_of(1, 13), bytes([0x1D, 0x00]))
    eq(header_of(1, 268), bytes([0x1D, 0xFF]))
    eq(header_of(1, 269), bytes([0x1E, 0x00, 0x00]))
    for n in (0, 12, 13, 268, 269, 1000):
        back = m.decode(m.Message(m.CON, m.GET, 1).add(300, b"v" * n).encode())
        eq(back.options, [(300, b"v" * n)])


def test_options_are_encoded_in_number_order_and_repeats_keep_their_order():
    msg = m.Message(m.CON, m.GET, 1)
    msg.options = [(m.URI_QUERY, b"q"), (m.URI_PATH, b"b"), (m.URI_HOST, b"h"), (m.URI_PATH, b"c")]
    back = m.decode(msg.encode())
    eq(back.options, [(m.URI_HOST, b"h"), (m.URI_PATH, b"b"), (m.URI_PATH, b"c"), (m.URI_QUERY, b"q")])  # noqa: E501


def test_uint_values():
    eq(m.uint_bytes(0), b"")
    eq(m.uint_bytes(255), b"\xff")
    eq(m.uint_bytes(256), b"\x01\x00")
    eq(m.uint_bytes(0xFFFFFFFF), b"\xff\xff\xff\xff")
    eq(m.uint_value(b"\x00\x00\x12"), 18)     # leading zeros are legal on receipt
    raises(ValueError, m.uint_bytes, -1)


def test_block_values():
    eq(m.block_value(0, False, 0), 0)
    eq(m.block_value(5, True, 6), 0x5E)
    eq(m.block_fields(0x5E), (5, True, 6))
    eq(m.block_fields(m.block_value(0xFFFFF, False, 2)), (0xFFFFF, False, 2))
    eq([m.block_size(s) for s in range(7)], [16, 32, 64, 128, 256, 512, 1024])


MALFORMED = [
    # name, datagram, readable header (RST possible)
    ("empty", b"", False),
    ("three bytes", b"\x40\x01\x00", False),
    ("version 0", b"\x00\x01\x00\x01", False),
    ("version 2", b"\x80\x01\x00\x01", False),
    ("version 3", b"\xc0\x01\x00\x01", False),
    ("truncated token", b"\x44\x01\x00\x01\xaa\xbb", True),
    ("delta nibble 15", b"\x40\x01\x00\x01\xf0", True),
    ("delta nibble 15 with length", b"\x40\x01\x00\x01\xf3abc", True),
    ("length nibble 15", b"\x40\x01\x00\x01\x1f", True),
    ("truncated 13-form delta", b"\x40\x01\x00\x01\xd0", True),
    ("truncated 14-form delta", b"\x40\x01\x00\x01\xe0\x00", True),
    ("truncated 13-form length", b"\x40\x01\x00\x01\x1d", True),
    ("truncated 14-form length", b"\x40\x01\x00\x01\x1e\x01", True),
    ("truncated value", b"\x40\x01\x00\x01\xb5abc", True),
    ("truncated 13-form value", b"\x40\x01\x00\x01\x1d\x00" + b"x" * 12, True),
    ("payload marker, empty payload", b"\x40\x02\x00\x01\xff", True),
    ("empty code with token", b"\x41\x00\x00\x01\x01", True),
    ("empty code with payload", b"\x40\x00\x00\x01\xffx", True),
]


def malformed_case(name, data, readable):
    def run():
        err = raises(m.FormatError, m.decode, data)
        assert isinstance(err, errors.ProtocolError) and err.code == errors.BAD_REQUEST
        if readable:
            eq(err.mid, 1, name)
            eq(err.mtype, m.CON, name)
        else:
            eq((err.mtype, err.mid), (None, None), name)
    return run


def token_length_case(tkl):
    def run():
        err = raises(m.FormatError, m.decode, bytes([0x50 | tkl, 0x01, 0x12, 0x34]) + bytes(15))
        eq((err.mtype, err.mid), (m.NON, 0x1234))
    return run


def cases():
    out = [("test_malformed_" + name.replace(" ", "_"), malformed_case(name, data, readable))
           for name, data, readable in MALFORMED]
    out += [("test_malformed_token_length_%d" % t, token_length_case(t)) for t in range(9, 16)]
    return out


def test_header_only_decoding_skips_options():
    msg = m.decode(b"\x42\x02\x00\x07ab\xf0", header_only=True)   # option part is garbage
    eq((msg.code, msg.mid, msg.token, msg.options), (m.POST, 7, b"ab", []))


def test_payload_of_a_memoryview_is_a_view():
    wire = m.Message(m.CON, m.POST, 9).add(m.URI_PATH, "x").encode() + b"\xffhello"
    msg = m.decode(memoryview(wire))
    assert isinstance(msg.payload, memoryview)
    eq(bytes(msg.payload), b"hello")


# --- the option table -----------------------------------------------------------------------------  # noqa: E501
def test_option_table_is_consistent():
    numbers = [row[0] for row in m.OPTIONS]
    eq(numbers, sorted(set(numbers)))
    eq(len(set(row[1] for row in m.OPTIONS)), len(m.OPTIONS))
    for number, name, fmt, critical, repeatable, lo, hi in m.OPTIONS:  # noqa: B007
        eq(critical, bool(number & 1), name)   # RFC 7252 5.4.6: odd numbers are critical
        assert 0 <= lo <= hi, name
    eq(m.OPTION[m.BLOCK1][1], "Block1")
    eq(m.OPTION[m.SIZE1][6], 4)


def checked(options):
    msg = m.Message(m.CON, m.POST, 1)
    msg.options = list(options)
    return msg.bad_critical_option(), msg.options


def test_unknown_critical_option_is_reported():
    eq(checked([(m.URI_PATH, b"x"), (9, b"?")]), (9, [(m.URI_PATH, b"x")]))
    eq(checked([(2049, b"")])[0], 2049)


def test_unknown_elective_option_is_dropped():
    eq(checked([(10, b"?"), (m.URI_PATH, b"x"), (2048, b"")]), (None, [(m.URI_PATH, b"x")]))


def test_option_length_out_of_range():
    eq(checked([(m.URI_PORT, b"\x00\x01\x02")])[0], m.URI_PORT)            # critical, 0-2 bytes
    eq(checked([(m.URI_HOST, b"")])[0], m.URI_HOST)                        # critical, 1-255
    eq(checked([(m.IF_NONE_MATCH, b"x")])[0], m.IF_NONE_MATCH)             # empty only
    eq(checked([(m.CONTENT_FORMAT, b"\x00\x00\x12")]), (None, []))         # elective: dropped
    eq(checked([(m.ETAG, b"")]), (None, []))


def test_repeated_options():
    eq(checked([(m.ACCEPT, b"\x12"), (m.ACCEPT, b"\x3c")])[0], m.ACCEPT)
    eq(checked([(m.MAX_AGE, b"\x01"), (m.MAX_AGE, b"\x02")]), (None, [(m.MAX_AGE, b"\x01")]))
    opts = [(m.URI_PATH, b"a"), (m.URI_PATH, b"b"), (m.URI_QUERY, b"q"), (m.URI_QUERY, b"r")]
    eq(checked(opts), (None, opts))


def test_strings_must_be_utf8():
    msg = m.Message(m.CON, m.GET, 1).add(m.URI_PATH, b"\xff\xfe")
    raises(UnicodeError, msg.strings, m.URI_PATH)


def test_code_text():
    eq(m.code_text(m.CONTINUE), "2.31")
    eq(m.code_text(errors.TOO_MANY_REQUESTS), "4.29")


# --- coap:// URIs ---------------------------------------------------------------------------------  # noqa: E501
def test_parse_uris():
    eq(uri.parse("coap://hotline.example:5684/receipts"), ("hotline.example", 5684, "/receipts"))
    eq(uri.parse("coap://10.0.0.1/a/b"), ("10.0.0.1", 5683, "/a/b"))
    eq(uri.parse("COAP://h"), ("h", 5683, "/"))
    eq(uri.parse("coap://[::1]:7000/r?x=1"), ("::1", 7000, "/r?x=1"))
    eq(uri.parse("coap://h?q"), ("h", 5683, "/?q"))


def test_bad_uris():
    for bad in ("coaps://h/r", "http://h/", "coap://", "coap://:5683/r", "coap://h:0/",
                "coap://h:65536/", "coap://h:x/", "coap://[::1/", "coap://h/r#frag",
                "coap://u@h/", None):
        raises(ValueError, uri.parse, bad)


def test_request_options_split_and_percent_decode():
    eq(uri.request_options("/receipts"), [(m.URI_PATH, b"receipts")])
    eq(uri.request_options("/"), [])
    eq(uri.request_options("/a%2Fb/c%20d?k=v&x=%41"),
       [(m.URI_PATH, b"a/b"), (m.URI_PATH, b"c d"), (m.URI_QUERY, b"k=v"), (m.URI_QUERY, b"x=A")])
    raises(ValueError, uri.request_options, "/bad%2")
    raises(ValueError, uri.request_options, "/bad%zz")


def test_resolved_peer_matches_the_socket_form():
    peer = uri.resolve("127.0.0.1", 5683)
    assert isinstance(peer, (bytes, tuple))
    eq(uri.peer_text(peer), "127.0.0.1:5683")
    eq(uri.peer_text(("10.1.2.3", 99)), "10.1.2.3:99")
