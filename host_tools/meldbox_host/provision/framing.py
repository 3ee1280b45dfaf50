"""The provisioning link's frames on the host side (the firmware's are in
firmware/meldbox/provision/framing.py; tests/host/test_provision_link.py checks that the
two agree): one line per frame, '#' + hex(length:2 | body | CRC-32:4) + '\\n'. Lines that
are not frames (the device's log output, a REPL prompt) are kept aside for diagnostics."""

import binascii
import struct

MAX_BODY = 2048  # as the firmware (meldbox/provision/framing.py)
OVERHEAD = 6


class FrameError(Exception):
    pass


def encode(body: bytes) -> bytes:
    if len(body) > MAX_BODY:
        raise FrameError("frame body of %d bytes, at most %d" % (len(body), MAX_BODY))
    head = struct.pack(">H", len(body)) + body
    return b"#" + binascii.hexlify(head + struct.pack(">I", binascii.crc32(head))) + b"\n"


def decode_line(line: bytes) -> bytes:
    try:
        raw = binascii.unhexlify(line[1:])
    except (binascii.Error, ValueError):
        raise FrameError("frame is not hex text") from None
    if len(raw) < OVERHEAD:
        raise FrameError("frame shorter than its length and CRC")
    (n,) = struct.unpack(">H", raw[:2])
    if n > MAX_BODY or len(raw) != n + OVERHEAD:
        raise FrameError("frame announces %d bytes, carries %d" % (n, len(raw) - OVERHEAD))
    if struct.pack(">I", binascii.crc32(raw[: n + 2])) != raw[n + 2 :]:
        raise FrameError("frame CRC does not match")
    return raw[2 : n + 2]


class Decoder:
    """Feed bytes; get back complete frames (bodies or FrameError). Other lines go to
    `noise` (the last few), so that a missing answer can be explained."""

    MAX_LINE = 1 + 2 * (MAX_BODY + OVERHEAD)

    def __init__(self):
        self.line = bytearray()
        self.noise = []

    def feed(self, data: bytes) -> list[bytes | FrameError]:
        out = []
        for b in data:
            if b == 0x0D:
                continue
            if b != 0x0A:
                if len(self.line) <= self.MAX_LINE:
                    self.line.append(b)
                continue
            line, self.line = bytes(self.line), bytearray()
            if line.startswith(b"#"):
                try:
                    out.append(
                        decode_line(line)
                        if len(line) <= self.MAX_LINE
                        else FrameError("frame longer than %d bytes" % self.MAX_LINE)
                    )
                except FrameError as e:
                    out.append(e)
            elif line.strip():
                self.noise = (self.noise + [line.decode("utf-8", "replace")])[-5:]
        return out

    def pending_text(self) -> str:
        """A partial line with no newline yet (a REPL prompt '>>> ' never ends in one)."""
        return bytes(self.line).decode("utf-8", "replace")
