"""The simulator's control socket, used by `meldbox sim-ctl` (SIMULATOR.md).

One JSON request per UDP datagram on 127.0.0.1, one JSON reply once the device has
taken the command in: a press after the panel has handled it, an advance after the
clock moved and the panel redrew, a snapshot after the panel's pixels are current.
Commands: {"cmd": "press", "button": "A", "hold_ms": 100}, {"cmd": "advance",
"seconds": 60}, {"cmd": "snapshot"}, {"cmd": "stop"}, {"cmd": "ping"}, and, beyond
SIMULATOR.md, {"cmd": "mem"}: the heap in use after a collection and its high-water mark,
and {"cmd": "status"}: whether the last receipt delivery reached its hotline (None before
the first) and how many receipts wait in the outbox, so that tests can wait for a state.
"""
import asyncio
import gc
import json
import socket

from meldbox import heap

POLL_MS = 20
MAX_REQUEST = 512
MAX_HOLD_MS = 60000
PRESS_WAIT_MS = 10000   # beyond the hold, how long a press may wait for the panel to read it


class Control:
    def __init__(self, board, app):
        """board: the simulated board (settings, buttons, press, advance, rtc_time,
        display); app: the running App (settle)."""
        self.board = board
        self.app = app
        port = int(board.settings["control_port"])
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(socket.getaddrinfo("127.0.0.1", port)[0][-1])
        self.sock.setblocking(False)

    async def run(self):
        while True:
            try:
                data, peer = self.sock.recvfrom(MAX_REQUEST)
            except OSError:
                await asyncio.sleep_ms(POLL_MS)
                continue
            try:
                reply = await self.handle(json.loads(data))
            except (ValueError, KeyError, TypeError) as e:
                reply = {"ok": False, "error": "bad control request: %s" % e}
            self.sock.sendto(json.dumps(reply).encode(), peer)
            if reply.get("stopping"):
                await asyncio.sleep_ms(50)
                raise SystemExit(0)

    async def handle(self, req):
        cmd = req["cmd"]
        if cmd == "ping":
            return {"ok": True}
        if cmd == "press":
            button = req["button"]
            hold = int(req.get("hold_ms", 100))
            if button not in self.board.buttons or not 0 < hold <= MAX_HOLD_MS:
                return {"ok": False, "error": "button must be one of A B X Y, hold 1..%d ms" % MAX_HOLD_MS}  # noqa: E501
            self.board.press(button, hold)
            # answered once the panel has read the press and it is let go, so that the
            # next press is a press of its own, not the same one held longer
            waited = 0
            while self.board.pressing(button) and waited < hold + PRESS_WAIT_MS:
                await asyncio.sleep_ms(10)
                waited += 10
            await self.app.settle()
            return {"ok": True}
        if cmd == "advance":
            seconds = int(req["seconds"])
            if seconds < 0:
                return {"ok": False, "error": "the clock only moves forward"}
            self.board.advance(seconds)
            await self.app.settle()
            return {"ok": True, "time": self.board.rtc_time()}
        if cmd == "snapshot":
            await self.app.settle()
            d = self.board.display
            return {"ok": True, "path": d.path, "width": d.width, "height": d.height,
                    "format": "rgb565be"}
        if cmd == "mem":
            gc.collect()
            return {"ok": True, "alloc": gc.mem_alloc(), "free": gc.mem_free(), "peak": heap.peak,
                    "largest": heap.largest_free(),
                    "coap": self.app.endpoint.stats if self.app.endpoint else None,
                    "dedup_bytes": self.app.endpoint.dedup.kept if self.app.endpoint else None}
        if cmd == "status":
            await self.app.settle()
            outbox = self.app.outbox
            return {"ok": True, "hotline": outbox.hotline_ok if outbox is not None else None,
                    "outbox": self.app.store.outbox_len}
        if cmd == "stop":
            return {"ok": True, "stopping": True}
        return {"ok": False, "error": "unknown command %r" % cmd}
