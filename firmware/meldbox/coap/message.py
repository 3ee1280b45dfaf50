"""CoAP datagram codec (RFC 7252 section 3): header, token, options, payload.

`decode` never raises anything but `FormatError` on bad input; the error tells whether
the 4-byte header was readable (then the endpoint can answer a CON with RST). The
option table below is the only place option numbers, formats and limits are declared.
"""
from meldbox.core import errors
from meldbox.core.errors import code_text

VERSION = 1

# Message types.
CON = 0
NON = 1
ACK = 2
RST = 3

# Codes: class << 5 | detail. Requests (0.xx); responses beyond those in core/errors.
EMPTY = 0x00
GET = 0x01
POST = 0x02
PUT = 0x03
DELETE = 0x04
FETCH = 0x05
PATCH = 0x06
IPATCH = 0x07
METHODS = {GET: "GET", POST: "POST", PUT: "PUT", DELETE: "DELETE",
           FETCH: "FETCH", PATCH: "PATCH", IPATCH: "iPATCH"}
CREATED = 0x41
DELETED = 0x42
VALID = 0x43
CHANGED = 0x44
CONTENT = 0x45
CONTINUE = 0x5F            # 2.31 (RFC 7959)
NOT_ACCEPTABLE = 0x86      # 4.06
PRECONDITION_FAILED = 0x8C  # 4.12
PROXYING_NOT_SUPPORTED = 0xA5  # 5.05

# Content-Format numbers used here.
CF_TEXT = 0
CF_COSE_SIGN1 = 18
CF_LINK_FORMAT = 40
CF_JSON = 50
CF_CBOR = 60
CF_PROBLEM = 257           # application/concise-problem-details+cbor

# Option numbers.
IF_MATCH = 1
URI_HOST = 3
ETAG = 4
IF_NONE_MATCH = 5
OBSERVE = 6
URI_PORT = 7
LOCATION_PATH = 8
URI_PATH = 11
CONTENT_FORMAT = 12
MAX_AGE = 14
URI_QUERY = 15
ACCEPT = 17
LOCATION_QUERY = 20
BLOCK2 = 23
BLOCK1 = 27
SIZE2 = 28
PROXY_URI = 35
PROXY_SCHEME = 39
SIZE1 = 60
ECHO = 252                 # RFC 9175: proves the requester receives at its address
REQUEST_TAG = 292          # RFC 9175; part of the Block1 reassembly key

# Option value formats (RFC 7252 section 3.2).
F_EMPTY = 0
F_OPAQUE = 1
F_UINT = 2
F_STRING = 3

# The option table: number, name, format, critical, repeatable, min and max length.
OPTIONS = (
    (IF_MATCH, "If-Match", F_OPAQUE, True, True, 0, 8),
    (URI_HOST, "Uri-Host", F_STRING, True, False, 1, 255),
    (ETAG, "ETag", F_OPAQUE, False, True, 1, 8),
    (IF_NONE_MATCH, "If-None-Match", F_EMPTY, True, False, 0, 0),
    (OBSERVE, "Observe", F_UINT, False, False, 0, 3),
    (URI_PORT, "Uri-Port", F_UINT, True, False, 0, 2),
    (LOCATION_PATH, "Location-Path", F_STRING, False, True, 0, 255),
    (URI_PATH, "Uri-Path", F_STRING, True, True, 0, 255),
    (CONTENT_FORMAT, "Content-Format", F_UINT, False, False, 0, 2),
    (MAX_AGE, "Max-Age", F_UINT, False, False, 0, 4),
    (URI_QUERY, "Uri-Query", F_STRING, True, True, 0, 255),
    (ACCEPT, "Accept", F_UINT, True, False, 0, 2),
    (LOCATION_QUERY, "Location-Query", F_STRING, False, True, 0, 255),
    (BLOCK2, "Block2", F_UINT, True, False, 0, 3),
    (BLOCK1, "Block1", F_UINT, True, False, 0, 3),
    (SIZE2, "Size2", F_UINT, False, False, 0, 4),
    (PROXY_URI, "Proxy-Uri", F_STRING, True, False, 1, 1034),
    (PROXY_SCHEME, "Proxy-Scheme", F_STRING, True, False, 1, 255),
    (SIZE1, "Size1", F_UINT, False, False, 0, 4),
    (ECHO, "Echo", F_OPAQUE, False, False, 1, 40),
    (REQUEST_TAG, "Request-Tag", F_OPAQUE, False, True, 0, 8),
)
OPTION = {row[0]: row for row in OPTIONS}

_PAYLOAD_MARKER = 0xFF
_MAX_OPTION_FIELD = 65804  # 14-nibble form: 269 + 0xFFFF


class FormatError(errors.MalformedError):
    """Not a CoAP message (RFC 7252 "message format error"). `mtype`, `mid` and
    `msg_code` (the message's code; `code` is the 4.00 of every ProtocolError) are set
    when the header was readable (version 1, 4 bytes), else None."""
    reason = "coap-format"

    def __init__(self, detail, mtype=None, mid=None, msg_code=None):
        super().__init__(detail)
        self.mtype = mtype
        self.mid = mid
        self.msg_code = msg_code


def uint_bytes(value):
    """Shortest big-endian form of a uint option value (0 is the empty string)."""
    if value < 0:
        raise ValueError("negative uint option")
    n = 0
    v = value
    while v:
        n += 1
        v >>= 8
    return value.to_bytes(n, "big")


def uint_value(raw):
    v = 0
    for b in raw:
        v = (v << 8) | b
    return v


# --- Block options (RFC 7959 section 2.2) -------------------------------------------
def block_value(num, more, szx):
    return (num << 4) | (8 if more else 0) | szx


def block_fields(value):
    """Block option value -> (num, more, szx). SZX 7 is reserved (BERT, TCP only)."""
    return value >> 4, bool(value & 8), value & 7


def block_size(szx):
    return 1 << (szx + 4)


class Message:
    """One CoAP message. `options` is a list of (number, value bytes) in number order
    (repeated options keep their order); `payload` is bytes or a memoryview."""

    def __init__(self, mtype=CON, code=EMPTY, mid=0, token=b"", options=None, payload=b""):
        self.mtype = mtype
        self.code = code
        self.mid = mid
        self.token = token
        self.options = [] if options is None else options
        self.payload = payload

    def __repr__(self):
        return "<CoAP %s %s mid=%d token=%s %d opts %d bytes>" % (
            "CON NON ACK RST".split()[self.mtype], code_text(self.code), self.mid,
            bytes(self.token).hex(), len(self.options), len(self.payload))

    # --- options -------------------------------------------------------------------
    def add(self, number, value):
        """Append an option; int values are encoded as uint, str as UTF-8. Kept in
        number order, after any options with the same number."""
        if isinstance(value, int):
            value = uint_bytes(value)
        elif isinstance(value, str):
            value = value.encode()
        opts = self.options
        i = len(opts)
        while i and opts[i - 1][0] > number:
            i -= 1
        opts.insert(i, (number, value))
        return self

    def remove(self, number):
        self.options = [o for o in self.options if o[0] != number]

    def get(self, number, default=None):
        for n, v in self.options:
            if n == number:
                return v
        return default

    def get_all(self, number):
        return [v for n, v in self.options if n == number]

    def uint(self, number, default=None):
        v = self.get(number)
        return default if v is None else uint_value(v)

    def strings(self, number):
        """Values of a repeatable string option, decoded (UnicodeError on bad UTF-8)."""
        return [str(v, "utf-8") for n, v in self.options if n == number]

    def bad_critical_option(self):
        """RFC 7252 5.4.1, 5.4.3, 5.4.5: returns the number of the first critical option
        that is unrecognised, has a length out of range or repeats when it may not (the
        request must then be refused with 4.02), or None. Such elective options are
        dropped from the message, as if they were not there."""
        keep = None          # built only when something must go
        last = -1
        bad = None
        options = self.options
        for i in range(len(options)):
            number, value = options[i]
            row = OPTION.get(number)
            ok = (row is not None and row[5] <= len(value) <= row[6]
                  and (row[4] or number != last))
            last = number
            if ok:
                if keep is not None:
                    keep.append(options[i])
            else:
                if keep is None:
                    keep = options[:i]
                if number & 1 and bad is None:
                    bad = number
        if keep is not None:
            self.options = keep
        return bad

    # --- wire form -----------------------------------------------------------------
    def encode(self):
        """The datagram, as a bytearray sized once (no growing and no final copy)."""
        token = self.token
        tkl = len(token)
        if tkl > 8:
            raise ValueError("token longer than 8 bytes")
        options = _in_order(self.options)
        payload = self.payload
        size = 4 + tkl
        last = 0
        for number, value in options:
            size += 1 + _extra(number - last) + _extra(len(value)) + len(value)
            last = number
        if len(payload):
            size += 1 + len(payload)
        out = bytearray(size)
        out[0] = (VERSION << 6) | (self.mtype << 4) | tkl
        out[1] = self.code
        out[2] = (self.mid >> 8) & 0xFF
        out[3] = self.mid & 0xFF
        out[4:4 + tkl] = token
        pos = 4 + tkl
        last = 0
        for number, value in options:
            head = pos
            pos = _put_field(out, pos + 1, number - last, head, 4)
            pos = _put_field(out, pos, len(value), head, 0)
            out[pos:pos + len(value)] = value
            pos += len(value)
            last = number
        if len(payload):
            out[pos] = _PAYLOAD_MARKER
            out[pos + 1:] = payload
        return out


def _extra(value):
    """Bytes an option delta or length needs after the header byte (RFC 7252 3.1)."""
    if value < 13:
        return 0
    if value < 269:
        return 1
    if value <= _MAX_OPTION_FIELD:
        return 2
    raise ValueError("option delta or length too large")


def _put_field(out, pos, value, head, shift):
    """Write a delta (shift 4) or length (shift 0) nibble into out[head] and its
    extended bytes at pos; returns the position after them."""
    if value < 13:
        out[head] |= value << shift
        return pos
    if value < 269:
        out[head] |= 13 << shift
        out[pos] = value - 13
        return pos + 1
    value -= 269
    out[head] |= 14 << shift
    out[pos] = value >> 8
    out[pos + 1] = value & 0xFF
    return pos + 2


def _in_order(options):
    """Options sorted by number, stable for repeats (MicroPython's sort is not stable)."""
    for i in range(1, len(options)):
        if options[i][0] < options[i - 1][0]:
            break
    else:
        return options
    ordered = []
    for opt in options:
        i = len(ordered)
        while i and ordered[i - 1][0] > opt[0]:
            i -= 1
        ordered.insert(i, opt)
    return ordered


def decode(buf, header_only=False):
    """Parse one datagram. The payload is a slice of `buf` (a memoryview stays a view:
    copy it before the buffer is reused). With header_only, options and payload are
    not parsed (used for datagrams that were too large to read whole)."""
    n = len(buf)
    if n < 4:
        raise FormatError("shorter than the 4-byte header")
    b0 = buf[0]
    if b0 >> 6 != VERSION:
        # RFC 7252 section 3: unknown versions are silently ignored, so no RST either.
        raise FormatError("CoAP version %d" % (b0 >> 6))
    mtype = (b0 >> 4) & 3
    tkl = b0 & 15
    code = buf[1]
    mid = (buf[2] << 8) | buf[3]
    if tkl > 8:
        raise FormatError("token length %d (9-15 are reserved)" % tkl, mtype, mid, code)
    if code == EMPTY and n > 4:
        raise FormatError("empty message with bytes after the header", mtype, mid, code)
    pos = 4 + tkl
    if pos > n:
        raise FormatError("truncated token", mtype, mid, code)
    msg = Message(mtype, code, mid, bytes(buf[4:pos]))
    if header_only:
        return msg
    options = msg.options
    number = 0
    while pos < n:
        b = buf[pos]
        pos += 1
        if b == _PAYLOAD_MARKER:
            if pos == n:
                raise FormatError("payload marker with an empty payload", mtype, mid, code)
            msg.payload = buf[pos:n]
            break
        delta = b >> 4
        length = b & 15
        if delta == 15 or length == 15:
            raise FormatError("option nibble 15 outside the payload marker", mtype, mid, code)
        if delta >= 13:
            delta, pos = _extended(buf, pos, n, delta, mtype, mid, code)
        if length >= 13:
            length, pos = _extended(buf, pos, n, length, mtype, mid, code)
        if pos + length > n:
            raise FormatError("truncated option value", mtype, mid, code)
        number += delta
        options.append((number, bytes(buf[pos:pos + length])))
        pos += length
    return msg


def _extended(buf, pos, n, nibble, mtype, mid, code):
    if nibble == 13:
        if pos + 1 > n:
            raise FormatError("truncated option header", mtype, mid, code)
        return buf[pos] + 13, pos + 1
    if pos + 2 > n:
        raise FormatError("truncated option header", mtype, mid, code)
    return ((buf[pos] << 8) | buf[pos + 1]) + 269, pos + 2
