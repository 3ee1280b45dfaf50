"""Frames of the provisioning link: one line of hex text per frame.

    '#' HEX( length:2 big-endian | body | CRC-32(length | body):4 big-endian ) '\\n'

Text rather than binary so that the console's control characters never occur inside a
frame: on a board the link is the USB console, where Ctrl-C must still stop the firmware
for mpremote, and lines that do not start with '#' (log output, a stray REPL banner)
are skipped. The length and the CRC catch truncated and corrupted frames. The decoder
works in one buffer allocated up front, so no input makes it allocate more than that.
"""
from binascii import crc32, hexlify, unhexlify

from meldbox import heap
from meldbox.core.errors import MalformedError, TooLarge

MAX_BODY = 2048     # a provisioning request or answer; the line buffer is reserved at boot
START = 0x23    # '#'
END = 0x0A      # '\n'
CR = 0x0D       # ignored, so that a terminal's '\r\n' does no harm
OVERHEAD = 6    # length + CRC


class FrameError(MalformedError):
    reason = "frame"


class FrameCorrupt(FrameError):
    reason = "frame-crc"


class FrameTruncated(FrameError):
    reason = "frame-truncated"


class FrameEncoding(FrameError):
    reason = "frame-encoding"


class FrameTooLarge(TooLarge):
    reason = "frame-too-large"


def _crc_bytes(data):
    c = crc32(data) & 0xFFFFFFFF
    return bytes((c >> 24, (c >> 16) & 0xFF, (c >> 8) & 0xFF, c & 0xFF))


WRITE_CHUNK = 128


def write_frame(write, body, max_body=MAX_BODY):
    """Write the frame line carrying `body` in small pieces: on a fragmented heap a whole
    hex line (twice the body) may find no block, its pieces do."""
    n = len(body)
    if n > max_body:
        raise FrameTooLarge("frame body of %d bytes, at most %d" % (n, max_body))
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


def decode_line(line, max_body=MAX_BODY):
    """The body of one frame line (without its newline, starting with '#')."""
    hexpart = line[1:]
    if len(hexpart) < 2 * OVERHEAD:
        raise FrameTruncated("frame shorter than its length and CRC")
    if len(hexpart) & 1:
        raise FrameTruncated("frame ends inside a byte")
    try:
        raw = unhexlify(hexpart)
    except ValueError:
        raise FrameEncoding("frame is not hex text")
    n = (raw[0] << 8) | raw[1]
    if n > max_body:
        raise FrameTooLarge("frame announces %d bytes, at most %d" % (n, max_body))
    if len(raw) != n + OVERHEAD:
        raise FrameTruncated("frame announces %d bytes, carries %d" % (n, len(raw) - OVERHEAD))
    if _crc_bytes(memoryview(raw)[:n + 2]) != raw[n + 2:]:
        raise FrameCorrupt("frame CRC does not match")
    return raw[2:n + 2]


IDLE = 0        # at the start of a line
FRAME = 1       # inside a '#' line
SKIP = 2        # inside a noise line or the rest of an oversized one


class Decoder:
    """Feed it bytes as they arrive; it returns the frames completed so far, each as its
    body (bytes) or as the FrameError that refused it."""

    def __init__(self, max_body=MAX_BODY):
        self.max_body = max_body
        self.buf = heap.take("provision.frame", 1 + 2 * (max_body + OVERHEAD))
        self.n = 0
        self.state = IDLE

    def feed(self, data):
        out = []
        buf = self.buf
        limit = len(buf)
        for b in data:
            if b == CR:
                continue
            if b == END:
                if self.state == FRAME:
                    try:
                        out.append(decode_line(memoryview(buf)[:self.n], self.max_body))
                    except (FrameError, TooLarge) as e:
                        out.append(e)
                self.state = IDLE
                self.n = 0
                continue
            if self.state == IDLE:
                if b == START:
                    self.state = FRAME
                    buf[0] = b
                    self.n = 1
                else:
                    self.state = SKIP
            elif self.state == FRAME:
                if self.n == limit:
                    out.append(FrameTooLarge("frame longer than %d bytes" % limit))
                    self.state = SKIP
                    self.n = 0
                else:
                    buf[self.n] = b
                    self.n += 1
        return out
