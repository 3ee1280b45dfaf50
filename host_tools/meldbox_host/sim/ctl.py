"""`meldbox sim-ctl`: press buttons, move the clock and snapshot the panel of a running
simulated device (SIMULATOR.md), through the device's control socket."""

import json
import os
import socket
import sys
from pathlib import Path

TIMEOUT_S = 10
# How long a press may take to be taken in: the hold itself plus this margin.
PRESS_MARGIN_S = 10


class ControlError(Exception):
    pass


def add_arguments(p):
    p.add_argument("--state", required=True, metavar="DIR")
    sub = p.add_subparsers(dest="action", metavar="ACTION")
    sub.required = True
    press = sub.add_parser("press", help="press a panel button")
    press.add_argument("button", choices=("A", "B", "X", "Y"))
    press.add_argument("--hold-ms", type=int, default=100)
    adv = sub.add_parser("advance", help="move the simulated clock forward")
    adv.add_argument("seconds", type=int)
    snap = sub.add_parser("snapshot", help="write the panel's pixels as a PNG")
    snap.add_argument("file")
    sub.add_parser(
        "mem",
        help="the device's heap (beyond SIMULATOR.md): in use after a collection, free, high-water, largest free block",  # noqa: E501
    )


def _control(state):
    path = Path(state) / "control.json"
    try:
        info = json.loads(path.read_text())
    except (OSError, ValueError):
        raise ControlError("no simulated device is running on %s" % state) from None
    try:
        os.kill(int(info["pid"]), 0)
    except (OSError, KeyError, ValueError):
        raise ControlError(
            "no simulated device is running on %s (it has stopped)" % state
        ) from None
    return info


def send_command(state, request, timeout=TIMEOUT_S):
    info = _control(state)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(json.dumps(request).encode(), ("127.0.0.1", int(info["port"])))
        try:
            data, _ = s.recvfrom(4096)
        except (TimeoutError, ConnectionRefusedError):
            raise ControlError("the simulated device on %s does not answer" % state) from None
    reply = json.loads(data)
    if not reply.get("ok"):
        raise ControlError(reply.get("error", "refused"))
    return reply


def press(state, button, hold_ms=100):
    return send_command(
        state,
        {"cmd": "press", "button": button, "hold_ms": hold_ms},
        timeout=hold_ms / 1000 + PRESS_MARGIN_S,
    )


def advance(state, seconds):
    return send_command(state, {"cmd": "advance", "seconds": seconds})


def snapshot(state, png_path):
    from PIL import Image

    reply = send_command(state, {"cmd": "snapshot"})
    w, h = reply["width"], reply["height"]
    raw = Path(reply["path"]).read_bytes()[: w * h * 2]
    if len(raw) != w * h * 2:
        raise ControlError("the panel image is incomplete")
    swapped = bytearray(len(raw))  # big-endian RGB565 (as sent to the panel)
    swapped[0::2], swapped[1::2] = raw[1::2], raw[0::2]
    Image.frombytes("RGB", (w, h), bytes(swapped), "raw", "BGR;16").save(png_path)
    return png_path


def mem(state):
    """The device's heap after a collection: {"alloc", "free", "peak", "largest"} in bytes
    (largest: the biggest block one allocation can get now)."""
    reply = send_command(state, {"cmd": "mem"})
    return {k: reply[k] for k in ("alloc", "free", "peak", "largest")}


def run(args):
    try:
        if args.action == "press":
            if not 0 < args.hold_ms <= 60000:
                raise ControlError("--hold-ms must be 1..60000")
            press(args.state, args.button, args.hold_ms)
        elif args.action == "advance":
            if args.seconds < 0:
                raise ControlError("advance takes a positive number of seconds")
            advance(args.state, args.seconds)
        elif args.action == "snapshot":
            snapshot(args.state, args.file)
        elif args.action == "mem":
            print(json.dumps(mem(args.state)))
    except ControlError as e:
        print("meldbox sim-ctl: %s" % e, file=sys.stderr)
        return 1
    return 0
