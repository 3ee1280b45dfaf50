"""A provisioning session with one device over a serial port (pyserial)."""

import json
import random
import time
from collections.abc import Callable
from typing import Any

import serial

from meldbox_host.provision.framing import Decoder, FrameError, encode

ANSWER_TIMEOUT_S = 10
CONFIRM_MARGIN_S = 10  # beyond the device's own confirmation timeout


class DeviceError(Exception):
    """The device refused the request (its answer carries error, code, detail)."""

    def __init__(self, answer):
        self.answer = answer
        super().__init__(
            "%s (%s): %s" % (answer.get("error"), answer.get("code"), answer.get("detail"))
        )


class LinkError(Exception):
    """No usable answer: no device, no Meldbox firmware, or a broken link."""


class DeviceClient:
    def __init__(
        self, port: str, baudrate: int = 115200, timeout: float = ANSWER_TIMEOUT_S
    ) -> None:
        try:
            # the baud rate does not matter on USB CDC; it does on a UART adapter
            self.ser = serial.Serial(port, baudrate=baudrate, timeout=0.1, write_timeout=5)
        except (serial.SerialException, OSError) as e:
            raise LinkError("cannot open %s: %s" % (port, e)) from None
        self.ser.reset_input_buffer()  # answers to someone else's earlier session
        self.port = port
        self.timeout = timeout
        self.decoder = Decoder()
        self.deadline = 0.0
        self.next_id = random.randrange(1, 1 << 30)

    def close(self) -> None:
        self.ser.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _frames(self):
        """Items of the frames that arrive until self.deadline (which an answer may move).
        One generator for the whole exchange: a read can hold two answers (the pending one
        and, right after a quick press, the final one), and a new generator per answer
        would drop the second."""
        while time.monotonic() < self.deadline:
            try:
                data = self.ser.read(self.ser.in_waiting or 1)
            except (serial.SerialException, OSError) as e:
                raise LinkError("%s: %s" % (self.port, e)) from None
            yield from self.decoder.feed(data)

    def _no_answer(self):
        seen = self.decoder.noise + [self.decoder.pending_text()]
        if any(">>>" in s for s in seen):
            return LinkError(
                "%s shows a MicroPython prompt, not the Meldbox firmware: is main.py "
                "installed and running? (make deploy)" % self.port
            )
        return LinkError(
            "no answer from %s within %d s: is a Meldbox on that port?" % (self.port, self.timeout)
        )

    def request(
        self, op: str, on_pending: Callable[[dict], None] | None = None, **fields: Any
    ) -> dict:
        """Send one request and return the device's final answer (a dict with ok true).
        `on_pending(answer)` is called when the device asks for a press on its panel."""
        rid = self.next_id
        self.next_id += 1
        body = dict(fields, id=rid, op=op)
        try:
            self.ser.write(encode(json.dumps(body, separators=(",", ":")).encode()))
        except FrameError as e:
            raise LinkError("request too large for one frame: %s" % e) from None
        except (serial.SerialException, OSError) as e:
            raise LinkError("%s: %s" % (self.port, e)) from None
        self.deadline = time.monotonic() + self.timeout
        for item in self._frames():
            if isinstance(item, FrameError):
                continue  # a damaged answer: wait for a good one or time out
            try:
                answer = json.loads(item)
            except ValueError:
                continue
            if not isinstance(answer, dict) or "op" in answer:
                continue  # not an answer (a REPL echoes our own request back)
            if answer.get("id") is None and answer.get("ok") is False:
                raise DeviceError(answer)  # the device could not read our frame
            if answer.get("id") != rid:
                continue
            if answer.get("pending"):
                if on_pending:
                    on_pending(answer)
                self.deadline = (
                    time.monotonic() + int(answer.get("timeout_s", 120)) + CONFIRM_MARGIN_S
                )
                continue
            if answer.get("ok"):
                return answer
            raise DeviceError(answer)
        raise self._no_answer()

    def info(self) -> dict:
        return self.request("info")

    def provision(self, on_pending: Callable[[dict], None] | None = None, **settings: Any) -> dict:
        return self.request("provision", on_pending=on_pending, **settings)
