"""A Meldbox device on the QEMU board for on-target tests, driven the way the simulator
is: boots the App on boards.qemu (firmware/main.py's order: reserve buffers, preload
fonts, then the app), runs it as an asyncio task, and plays a hotline through the
board's in-memory socket with a small CoAP client of its own (CON requests, Block1)."""
import asyncio

HOTLINE = ("10.0.0.9", 40000)
BLOCK = 1024            # Block1 SZX 6
REPLY_MS = 60000        # guest time for one answer (an Ed25519 verify is well under)
_started = False


def _boot_prelude():
    global _started
    if not _started:
        from meldbox import heap
        heap.reserve(serial=False)      # the QEMU board has no provisioning link
        from meldbox.ui import font
        font.preload()
        _started = True


class Device:
    def __init__(self, **board_kw):
        _boot_prelude()
        from boards.qemu.board import QemuBoard
        from meldbox.app.main import App
        self.board = QemuBoard(**board_kw)
        self.app = App(self.board)
        self.sock = self.board.socket
        self.mid = 0x100
        self.task = None

    async def start(self):
        self.task = asyncio.create_task(self.app.main())
        for _ in range(10000):
            if getattr(self.board, "ready_info", None):
                return self
            await asyncio.sleep_ms(1)
        raise AssertionError("the device never became ready")

    def stop(self):
        if self.task is not None:
            self.task.cancel()

    async def exchange(self, datagram, peer=HOTLINE):
        """Send one datagram, return the first datagram the device sends back to peer."""
        self.sock.deliver(datagram, peer)
        waited = 0
        while waited < REPLY_MS:
            got = self.sock.take(peer)
            if got is not None:
                return got[0]
            await asyncio.sleep_ms(1)
            waited += 1
        raise AssertionError("no answer within %d ms of guest time" % REPLY_MS)

    async def request(self, payload, path="notices", method=2, mid=None, block=BLOCK):
        """POST (CON) payload to path, Block1 when it does not fit one block; returns
        (code text, payload of the final answer). `payload`: bytes, or an open file read
        one block at a time (the peer's copy of an 8 KiB notice stays off the heap the
        device shares with the test)."""
        size = payload.seek(0, 2) if hasattr(payload, "read") else len(payload)
        n = (size + block - 1) // block if size > block else 1
        for i in range(n):
            if hasattr(payload, "read"):
                payload.seek(i * block)
                part = payload.read(block)
            else:
                part = payload[i * block:(i + 1) * block] if n > 1 else payload
            opts = [(11, p.encode()) for p in path.split("/")] + [(12, b"\x12")]
            if n > 1:
                more = 1 if i < n - 1 else 0
                opts.append((27, _uint((i << 4) | (more << 3) | 6)))
            self.mid = (self.mid + 1) & 0xFFFF
            use_mid = self.mid if mid is None else mid
            reply = decode(await self.exchange(encode(0, method, use_mid, b"\x42", opts, part)))
            code, mtype, rmid, rpayload = reply[:4]
            if code == "0.00" and mtype == 2:       # empty ACK: a separate response follows
                sep = await self._separate()
                code, rpayload = sep[0], sep[3]
            if n > 1 and i < n - 1 and code != "2.31":
                return code, rpayload
        return code, rpayload

    async def _separate(self, peer=HOTLINE):
        waited = 0
        while waited < REPLY_MS:
            got = self.sock.take(peer)
            if got is not None:
                msg = decode(got[0])
                if msg[1] == 0:                     # CON: acknowledge it
                    self.sock.deliver(encode(2, 0, msg[2], b"", [], b""), got[1])
                return msg
            await asyncio.sleep_ms(1)
            waited += 1
        raise AssertionError("no separate response")


class ReceiptServer:
    """A hotline's receipt endpoint on the in-memory network: ACKs every CON POST with
    2.04 and keeps the payloads."""

    def __init__(self, sock, peer):
        self.sock = sock
        self.peer = peer
        self.received = []

    async def run(self):
        while True:
            got = self.sock.take(self.peer)
            if got is None:
                await asyncio.sleep_ms(5)
                continue
            code, mtype, mid, payload, token = decode(got[0])
            if mtype == 0 and code == "0.02":
                self.received.append(bytes(payload))
                self.sock.deliver(encode(2, 0x44, mid, token, [], b""), self.peer)


def _uint(v):
    out = b""
    while v:
        out = bytes([v & 0xFF]) + out
        v >>= 8
    return out


def _ext(v):
    if v < 13:
        return v, b""
    if v < 269:
        return 13, bytes([v - 13])
    return 14, (v - 269).to_bytes(2, "big")


def encode(mtype, code, mid, token, options, payload):
    out = bytearray([0x40 | (mtype << 4) | len(token), code, mid >> 8, mid & 0xFF])
    out += token
    last = 0
    for number, value in sorted(options, key=lambda o: o[0]):
        d, dext = _ext(number - last)
        ln, lext = _ext(len(value))
        out.append((d << 4) | ln)
        out += dext + lext + value
        last = number
    if payload:
        out.append(0xFF)
        out += payload
    return bytes(out)


def decode(data):
    """(code text, type, message id, payload, token) of a CoAP message."""
    tkl = data[0] & 0x0F
    mtype = (data[0] >> 4) & 3
    code = "%d.%02d" % (data[1] >> 5, data[1] & 0x1F)
    mid = (data[2] << 8) | data[3]
    i = 4 + tkl
    while i < len(data) and data[i] != 0xFF:
        b = data[i]
        i += 1
        for nib in (b >> 4, b & 0x0F):      # delta first, then length
            if nib == 13:
                value = data[i] + 13
                i += 1
            elif nib == 14:
                value = ((data[i] << 8) | data[i + 1]) + 269
                i += 2
            else:
                value = nib
        i += value                          # the last value read is the length
    payload = data[i + 1:] if i < len(data) else b""
    return code, mtype, mid, payload, data[4:4 + tkl]
