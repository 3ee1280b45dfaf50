"""Strict CBOR decoder and deterministic encoder (RFC 8949), the subset the protocol uses.

`loads(buf)` decodes exactly one data item spanning the whole buffer and raises only
`errors.Malformed` with a `cbor...` reason, each naming what was wrong and at which byte
offset. It rejects indefinite lengths, reserved encodings, duplicate map keys, invalid UTF-8
(checked here per RFC 3629: MicroPython's own decode accepts overlong forms and
surrogates), nesting deeper than `max_depth`, and any declared length the rest of the
input cannot hold, before allocating for it. Map keys must be int, text or bytes.
Floats (half, single, double) decode to float; tags decode to `Tag`.

`dumps(obj)` writes core deterministic encoding (RFC 8949 section 4.2.1): shortest
arguments, definite lengths, map keys sorted bytewise by their encoding. It takes int
(up to 64-bit arguments), bytes/bytearray/memoryview, str, list/tuple, dict (int, text or
bytes keys), bool, None and Tag. Floats are not encoded (the protocol never sends one):
TypeError, as for any other type.
"""
import struct

from meldbox.core import errors

try:
    import micropython  # noqa: F401 (on MicroPython `@micropython.native` is compiler syntax)
except ImportError:  # CPython: the decorator does nothing
    class micropython:
        @staticmethod
        def native(fn):
            return fn

_U64 = 1 << 64


class Text:
    """A long text string left where it was decoded (loads(long_text=N)): its UTF-8 is
    checked but no str is made, so a notice's 2 KiB URLs need no 2 KiB heap blocks;
    str(t) makes one. len(t) counts bytes. `buf` must stay unchanged meanwhile."""
    __slots__ = ("view",)

    def __init__(self, view):
        self.view = view

    def __len__(self):
        return len(self.view)

    def __str__(self):
        return str(self.view, "utf-8")


class Tag:
    """A tagged data item: tag number `tag` around `value`."""

    def __init__(self, tag, value):
        self.tag = tag
        self.value = value

    def __eq__(self, other):
        return isinstance(other, Tag) and self.tag == other.tag and self.value == other.value

    def __ne__(self, other):
        return not self.__eq__(other)

    def __repr__(self):
        return "Tag(%d, %r)" % (self.tag, self.value)


# --- decoding ---------------------------------------------------------------------

@micropython.native
def _utf8_error(buf, i, end):
    """Offset of the first byte of an invalid RFC 3629 sequence in buf[i:end], or -1."""
    while i < end:
        c = buf[i]
        if c < 0x80:
            i += 1
            continue
        # Lead byte: how many continuation bytes, and the allowed range of the first one
        # (the narrow ranges exclude overlong forms, surrogates and values above U+10FFFF).
        if 0xC2 <= c <= 0xDF:
            k, lo, hi = 1, 0x80, 0xBF
        elif c == 0xE0:
            k, lo, hi = 2, 0xA0, 0xBF
        elif c == 0xED:
            k, lo, hi = 2, 0x80, 0x9F
        elif 0xE1 <= c <= 0xEF:
            k, lo, hi = 2, 0x80, 0xBF
        elif c == 0xF0:
            k, lo, hi = 3, 0x90, 0xBF
        elif c == 0xF4:
            k, lo, hi = 3, 0x80, 0x8F
        elif 0xF1 <= c <= 0xF3:
            k, lo, hi = 3, 0x80, 0xBF
        else:
            return i
        if i + k >= end:  # the sequence runs past the string
            return i
        c = buf[i + 1]
        if c < lo or c > hi:
            return i
        j = i + 2
        while j <= i + k:
            c = buf[j]
            if c < 0x80 or c > 0xBF:
                return i
            j += 1
        i = j
    return -1


class _Decoder:
    """Reads one item at a time from a memoryview; `i` is the offset of the next byte."""

    def __init__(self, buf, max_depth, views=False, long_text=0):
        self.buf = buf
        self.n = len(buf)
        self.i = 0
        self.max_depth = max_depth
        self.views = views
        self.long_text = long_text

    def _arg(self, ai, start):
        """The argument of the head at `start` whose additional info is ai (24..27)."""
        buf = self.buf
        i = self.i
        size = 1 << (ai - 24)
        if i + size > self.n:
            raise errors.Malformed("cbor-truncated",
                                   "head at offset %d needs %d more bytes, %d left"
                                   % (start, size, self.n - i))
        if size == 1:
            arg = buf[i]
        elif size == 2:
            arg = buf[i] << 8 | buf[i + 1]
        else:
            arg = int.from_bytes(buf[i:i + size], "big")
        self.i = i + size
        return arg

    @micropython.native
    def item(self, depth, tags):
        """Decode the item at self.i. depth: containers around it; tags: tags around it."""
        buf = self.buf
        start = self.i
        if start >= self.n:
            raise errors.Malformed("cbor-truncated",
                                   "item expected at offset %d, input ends" % start)
        ib = buf[start]
        mt = ib >> 5
        ai = ib & 31
        self.i = start + 1
        if ai < 24:
            arg = ai
        elif ai < 28:
            arg = self._arg(ai, start)
        elif ai == 31:
            if mt == 7:
                raise errors.Malformed("cbor-not-well-formed",
                                       "break (0xff) outside an indefinite item at offset %d"
                                       % start)
            if 2 <= mt <= 5:
                raise errors.Malformed("cbor-indefinite-length",
                                       "indefinite length (0x%02x) at offset %d"
                                       % (ib, start))
            raise errors.Malformed("cbor-not-well-formed",
                                   "additional info 31 for major type %d at offset %d"
                                   % (mt, start))
        else:
            raise errors.Malformed("cbor-not-well-formed",
                                   "reserved additional info %d at offset %d" % (ai, start))

        if mt == 0:
            return arg
        if mt == 1:
            return -1 - arg
        if mt == 2 or mt == 3:
            i = self.i
            if arg > self.n - i:
                raise errors.Malformed("cbor-truncated",
                                       "string at offset %d declares %d bytes, %d left"
                                       % (start, arg, self.n - i))
            end = i + arg
            self.i = end
            if mt == 2:
                return buf[i:end] if self.views else bytes(buf[i:end])
            # ASCII fast path: max() runs in C; only non-ASCII text takes the byte loop.
            if arg and max(buf[i:end]) > 0x7F:
                bad = _utf8_error(buf, i, end)
                if bad >= 0:
                    raise errors.Malformed("cbor-invalid-utf8",
                                           "invalid UTF-8 at offset %d in text at offset %d"
                                           % (bad, start))
            if self.long_text and arg > self.long_text:
                return Text(buf[i:end])
            return str(buf[i:end], "utf-8")
        if mt == 4 or mt == 5:
            if depth >= self.max_depth:
                raise errors.Malformed("cbor-too-deep",
                                       "container at offset %d nests deeper than %d"
                                       % (start, self.max_depth))
            left = self.n - self.i
            # Every item takes at least one byte: refuse counts the input cannot hold
            # before allocating anything for them.
            if (arg if mt == 4 else 2 * arg) > left:
                raise errors.Malformed("cbor-truncated",
                                       "%s at offset %d declares %d %s, %d bytes left"
                                       % ("array" if mt == 4 else "map", start, arg,
                                          "items" if mt == 4 else "pairs", left))
            depth += 1
            if mt == 4:
                out = [None] * arg
                for k in range(arg):
                    out[k] = self.item(depth, tags)
                return out
            out = {}
            for _ in range(arg):
                at = self.i
                # Keys must be int, text or bytes. Containers and tags are refused from
                # their first byte (decoding them first could cost a whole nested decode);
                # major type 7 items are one head, decoded first so that a break or a
                # reserved encoding is reported as such.
                if at < self.n and 0x80 <= buf[at] < 0xE0:
                    raise errors.Malformed("cbor-unsupported",
                                           "map key at offset %d is not an int, text or bytes"
                                           % at)
                key = self.item(depth, tags)
                if type(key) is memoryview:     # views=True: keys must stay hashable
                    key = bytes(key)
                elif type(key) is Text:
                    key = str(key)
                if buf[at] >= 0xE0:
                    raise errors.Malformed("cbor-unsupported",
                                           "map key at offset %d is not an int, text or bytes"
                                           % at)
                if key in out:
                    raise errors.Malformed("cbor-duplicate-key",
                                           "duplicate map key %s at offset %d"
                                           % (repr(key)[:40], at))
                out[key] = self.item(depth, tags)
            return out
        if mt == 6:
            # Tags are not containers, but a chain of them must not recurse without bound.
            if tags >= self.max_depth:
                raise errors.Malformed("cbor-too-deep", "tag at offset %d nests more than %d tags"
                                         % (start, self.max_depth))
            return Tag(arg, self.item(depth, tags + 1))
        # Major type 7: simple values and floats.
        if ai < 24:
            if ai == 20:
                return False
            if ai == 21:
                return True
            if ai == 22:
                return None
            raise errors.Malformed("cbor-unsupported",
                                   "simple value %d at offset %d" % (ai, start))
        if ai == 24:
            if arg < 32:
                raise errors.Malformed("cbor-not-well-formed",
                                       "simple value %d in two bytes at offset %d"
                                       % (arg, start))
            raise errors.Malformed("cbor-unsupported",
                                   "simple value %d at offset %d" % (arg, start))
        # The float's bits were read as the argument; reinterpret them.
        return struct.unpack_from(">e" if ai == 25 else ">f" if ai == 26 else ">d",
                                  buf, start + 1)[0]


def loads(buf, max_depth=8, views=False, long_text=0):
    """Decode the one CBOR item that makes up all of `buf` (bytes, bytearray, memoryview).
    With views=True, byte strings come back as memoryview slices of `buf` instead of
    copies (COSE: an 8 KiB payload is not copied; `buf` must stay unchanged meanwhile).
    With long_text=N, text strings of more than N bytes come back as Text (no copy)."""
    d = _Decoder(memoryview(buf), max_depth, views, long_text)
    value = d.item(0, 0)
    if d.i != d.n:
        raise errors.Malformed("cbor-trailing-bytes", "%d bytes after the item, from offset %d"
                                       % (d.n - d.i, d.i))
    return value


# --- encoding ---------------------------------------------------------------------

def _head(out, mt, arg):
    """Append the shortest head for major type mt with argument arg (0 <= arg < 2**64)."""
    mt <<= 5
    if arg < 24:
        out.append(mt | arg)
    elif arg < 0x100:
        out.append(mt | 24)
        out.append(arg)
    elif arg < 0x10000:
        out.append(mt | 25)
        out.extend(arg.to_bytes(2, "big"))
    elif arg < 0x100000000:
        out.append(mt | 26)
        out.extend(arg.to_bytes(4, "big"))
    elif arg < _U64:
        out.append(mt | 27)
        out.extend(arg.to_bytes(8, "big"))
    else:
        raise ValueError("integer argument %d does not fit 64 bits" % arg)


def head(mt, arg):
    """The encoded head of major type mt with argument arg, for writers that stream a
    large item's content instead of building it in memory (store records)."""
    out = bytearray()
    _head(out, mt, arg)
    return bytes(out)


def _key_bytes(key):
    """The encoding of a map key, which decides its place in the map."""
    t = type(key)
    if t is not str and t is not int and t is not bytes:
        raise TypeError("map key of type %s (only int, str, bytes)" % t.__name__)
    out = bytearray()
    _encode(out, key)
    return out


def _first(pair):
    return pair[0]


def _encode(out, obj):
    t = type(obj)
    if t is str:
        b = obj.encode("utf-8")
        _head(out, 3, len(b))
        out.extend(b)
    elif t is int:
        if obj >= 0:
            _head(out, 0, obj)
        else:
            _head(out, 1, -1 - obj)
    elif t is bytes or t is bytearray or t is memoryview:
        _head(out, 2, len(obj))
        out.extend(obj)
    elif t is dict:
        _head(out, 5, len(obj))
        pairs = [(_key_bytes(k), v) for k, v in obj.items()]
        pairs.sort(key=_first)
        for kb, v in pairs:
            out.extend(kb)
            _encode(out, v)
    elif t is list or t is tuple:
        _head(out, 4, len(obj))
        for v in obj:
            _encode(out, v)
    elif obj is None:
        out.append(0xF6)
    elif obj is True:
        out.append(0xF5)
    elif obj is False:
        out.append(0xF4)
    elif t is Tag:
        if type(obj.tag) is not int or obj.tag < 0:
            raise ValueError("tag number %r" % (obj.tag,))
        _head(out, 6, obj.tag)
        _encode(out, obj.value)
    elif t is float:
        raise TypeError("floats are not encoded: the protocol has none")
    else:
        raise TypeError("cannot encode %s" % t.__name__)


def dumps(obj):
    """Core deterministic encoding of obj (RFC 8949 section 4.2.1), as bytes."""
    out = bytearray()
    _encode(out, obj)
    return bytes(out)
