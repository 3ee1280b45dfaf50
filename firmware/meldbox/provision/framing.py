"""Frames of the provisioning link: one line of hex text per frame.

    '#' HEX( length:2 big-endian | body | CRC-32(length | body):4 big-endian ) '\\n'

Text rather than binary so that the console's control characters never occur inside a
frame: on a board the link is the USB console, where Ctrl-C must still stop the firmware
for mpremote, and lines that do not start with '#' (log output, a stray REPL banner)
are skipped. The length and the CRC catch truncated and corrupted frames. The decoder
works in one buffer allocated up front (the frame's bytes, decoded from hex as they
arrive), so no input makes it allocate more than that.
"""
from binascii import crc32, hexlify

from meldbox import heap
from meldbox.core.errors import REQUEST_ENTITY_TOO_LARGE, Malformed, Refusal

MAX_BODY = 2048     # a provisioning request or answer; the line buffer is reserved at boot
START = 0x23    # '#'
END = 0x0A      # '\n'
CR = 0x0D       # ignored, so that a terminal's '\r\n' does no harm
OVERHEAD = 6    # length + CRC


# Refusals (one class per CoAP code, the reason a field: a class costs heap, errors.py):
# 4.00 frame-crc, frame-truncated, frame-encoding; 4.13 frame-too-large.
def too_large(detail):
    return Refusal(REQUEST_ENTITY_TOO_LARGE, "frame-too-large", "Request Entity Too Large",
                   detail)


def _crc_bytes(data):
    c = crc32(data) & 0xFFFFFFFF
    return bytes((c >> 24, (c >> 16) & 0xFF, (c >> 8) & 0xFF, c & 0xFF))


WRITE_CHUNK = 128


def write_frame(write, body, max_body=MAX_BODY):
    """Write the frame line carrying `body` in small pieces: on a fragmented heap a whole
    hex line (twice the body) may find no block, its pieces do."""
    n = len(body)
    if n > max_body:
        raise too_large("frame body of %d bytes, at most %d" % (n, max_body))
    head = bytes((n >> 8, n & 0xFF))
    crc = crc32(body, crc32(head)) & 0xFFFFFFFF
    write(b"#")
    write(hexlify(head))
    view = memoryview(body)
    for i in range(0, n, WRITE_CHUNK):
        write(hexlify(view[i:i + WRITE_CHUNK]))
    write(hexlify(bytes((crc >> 24, (crc >> 16) & 0xFF, (crc >> 8) & 0xFF, crc & 0xFF))))
    write(b"\n")


def encode(body, max_body=MAX_BODY):
    """One frame line (bytes) carrying `body`."""
    parts = []
    write_frame(parts.append, body, max_body)
    return b"".join(parts)


def _hex_value(b):
    # the value of hex digit b (a byte), or -1
    if 48 <= b <= 57:
        return b - 48
    if 97 <= b <= 102:
        return b - 87
    if 65 <= b <= 70:
        return b - 55
    return -1


IDLE = 0        # at the start of a line
FRAME = 1       # inside a '#' line
SKIP = 2        # inside a noise line or the rest of an oversized one


class Decoder:
    """Feed it bytes as they arrive; it returns the frames completed so far, each as its
    body (bytes) or as the ProtocolError that refused it. The hex is decoded as it arrives
    into a buffer of the frame's bytes (reserved at boot), not kept as a line of text
    twice that size: the buffer is live for as long as the link is served."""

    def __init__(self, max_body=MAX_BODY):
        self.max_body = max_body
        self.buf = heap.take("provision.frame", max_body + OVERHEAD)
        self.nhex = 0           # hex digits of this frame line so far
        self.bad = False        # one of them was not a hex digit
        self.state = IDLE

    def _frame(self):
        """The body of the frame line just ended, or the ProtocolError refusing it."""
        nhex = self.nhex
        if nhex < 2 * OVERHEAD:
            return Malformed("frame-truncated", "frame shorter than its length and CRC")
        if nhex & 1:
            return Malformed("frame-truncated", "frame ends inside a byte")
        if self.bad:
            return Malformed("frame-encoding", "frame is not hex text")
        buf = self.buf
        n = (buf[0] << 8) | buf[1]
        if n > self.max_body:
            return too_large("frame announces %d bytes, at most %d" % (n, self.max_body))
        if nhex // 2 != n + OVERHEAD:
            return Malformed("frame-truncated", "frame announces %d bytes, carries %d"
                             % (n, nhex // 2 - OVERHEAD))
        view = memoryview(buf)
        if _crc_bytes(view[:n + 2]) != view[n + 2:n + OVERHEAD]:
            return Malformed("frame-crc", "frame CRC does not match")
        return bytes(view[2:n + 2])

    def feed(self, data):
        out = []
        buf = self.buf
        limit = 2 * len(buf)    # hex digits
        for b in data:
            if b == CR:
                continue
            if b == END:
                if self.state == FRAME:
                    out.append(self._frame())
                self.state = IDLE
                continue
            if self.state == IDLE:
                if b == START:
                    self.state = FRAME
                    self.nhex = 0
                    self.bad = False
                else:
                    self.state = SKIP
            elif self.state == FRAME:
                nhex = self.nhex
                if nhex == limit:
                    # the line as text: '#' and the hex digits
                    out.append(too_large("frame longer than %d bytes" % (limit + 1)))
                    self.state = SKIP
                    continue
                v = _hex_value(b)
                if v < 0:
                    self.bad = True
                elif nhex & 1:
                    buf[nhex >> 1] |= v
                else:
                    buf[nhex >> 1] = v << 4
                self.nhex = nhex + 1
        return out
