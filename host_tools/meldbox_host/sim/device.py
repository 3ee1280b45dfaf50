"""`meldbox sim-device`: run a simulated device (SIMULATOR.md).

This process prepares STATE_DIR (settings and provisioning from the flags), starts the
real firmware in a `micropython` child in the same process group, prints the child's
ready line with the child's pid, then stays until SIGTERM (orderly stop through the
control socket) or until the device dies (a simulated power cut ends in SIGKILL).
"""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

from meldbox_host.sim import romfs
from meldbox_host.sim.paths import DEFAULT_FLASH, DEFAULT_HEAP, SIM_MAIN

BIND_RETRIES = 5
POWER_CUT_EXIT = 137  # as a process killed by SIGKILL


def add_arguments(p):
    p.add_argument("--state", required=True, metavar="DIR", help="the device's persistent state")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=5683, help="CoAP port (0: pick a free one)")
    p.add_argument("--device-id", metavar="ID")
    p.add_argument(
        "--trust",
        action="append",
        default=[],
        metavar="ISSUER=PUBKEY_HEX[,not-after=T][,revoked][,retention-days=N]",
    )
    p.add_argument("--receipts", action="append", default=[], metavar="ISSUER=URI")
    p.add_argument("--heap", default=DEFAULT_HEAP, metavar="SIZE")
    p.add_argument(
        "--flash",
        default=DEFAULT_FLASH,
        metavar="SIZE",
        help="size of the littlefs filesystem, made when the state folder is new "
        "(default %s, the reference board's)" % DEFAULT_FLASH,
    )
    p.add_argument("--lang", choices=("en", "nl"))
    p.add_argument("--tz", choices=("UTC", "CET"), help="display time zone")
    p.add_argument("--clock-offset", type=int, default=0, metavar="SECONDS")
    p.add_argument("--frozen-clock", action="store_true")
    p.add_argument("--power-cut-after-writes", type=int, metavar="N")
    # Beyond SIMULATOR.md: knobs for reproducible tests and demos.
    p.add_argument(
        "--clock-at",
        type=int,
        metavar="POSIX",
        help="start the simulated RTC at exactly this time (with --frozen-clock: "
        "pixel-exact snapshots)",
    )
    p.add_argument(
        "--rtc-untrusted",
        action="store_true",
        help="simulate an RTC that lost its time (PROTOCOL.md section 7)",
    )
    p.add_argument(
        "--rng-seed",
        type=int,
        metavar="N",
        help="make the board's random numbers (and so the device key) reproducible",
    )
    p.add_argument(
        "--coap-ack-timeout-ms",
        type=int,
        metavar="MS",
        help="RFC 7252 ACK_TIMEOUT for the device's own requests (default 2000)",
    )
    p.add_argument(
        "--fragment-heap",
        type=int,
        metavar="BYTES",
        help="(tests) boot on a fragmented heap: blocks of BYTES, every other one "
        "freed before boot and the rest after it",
    )
    p.add_argument(
        "--serial-link",
        metavar="PATH",
        help="expose the device's USB serial port as a pseudo-terminal at PATH "
        "(for `meldbox device provision --port PATH`)",
    )


class UsageError(Exception):
    pass


class PowerCut(Exception):
    pass


def parse_trust(values):
    """['nl.eokm=HEX,not-after=T,revoked,retention-days=N', ...] -> list of dicts
    (SIMULATOR.md)."""
    keys = []
    for value in values:
        issuer, sep, rest = value.partition("=")
        parts = rest.split(",")
        key_hex = parts[0].strip().lower()
        if not sep or not issuer:
            raise UsageError("--trust %r: expected ISSUER=PUBKEY_HEX" % value)
        try:
            key = bytes.fromhex(key_hex)
        except ValueError:
            key = b""
        if len(key) != 32:
            raise UsageError(
                "--trust %r: the key must be 64 hex digits (a raw Ed25519 public key)" % value
            )
        entry = {"iss": issuer, "key": key_hex, "not_after": None, "revoked": False}
        for extra in parts[1:]:
            extra = extra.strip()
            if extra == "revoked":
                entry["revoked"] = True
            elif extra.startswith("retention-days="):
                days = extra[len("retention-days=") :]
                if not days.isdigit() or not 1 <= int(days) <= 36500:
                    raise UsageError("--trust %r: retention-days must be 1..36500" % value)
                entry["retention_days"] = int(days)
            elif extra.startswith("not-after="):
                try:
                    entry["not_after"] = int(extra[len("not-after=") :])
                except ValueError:
                    raise UsageError(
                        "--trust %r: not-after must be POSIX seconds" % value
                    ) from None
            else:
                raise UsageError("--trust %r: unknown attribute %r" % (value, extra))
        keys.append(entry)
    return keys


def parse_receipts(values):
    uris = {}
    for value in values:
        issuer, sep, uri = value.partition("=")
        if not sep or not issuer or not uri.startswith("coap://"):
            raise UsageError("--receipts %r: expected ISSUER=coap://HOST:PORT/PATH" % value)
        uris[issuer] = uri
    return uris


def parse_flash(text):
    """--flash SIZE in bytes: a whole number of 4 KiB blocks, 128K..64M."""
    t = text.strip().upper()
    mult = {"K": 1024, "M": 1024 * 1024}.get(t[-1:], 1)
    digits = t[:-1] if mult > 1 else t
    size = int(digits) * mult if digits.isdigit() else 0
    if size < 128 * 1024 or size > 64 * 1024 * 1024 or size % 4096:
        raise UsageError(
            "--flash %r: expected a size such as 1408K (4 KiB blocks, 128K..64M)" % text
        )
    return size


def parse_heap(text):
    t = text.strip().upper()
    mult = 1
    if t.endswith("K"):
        mult, t = 1024, t[:-1]
    elif t.endswith("M"):
        mult, t = 1024 * 1024, t[:-1]
    if not t.isdigit() or int(t) * mult < 32 * 1024:
        raise UsageError("--heap %r: expected a size such as 256K (at least 32K)" % text)
    return text


def provisioning(args):
    """What the flags provision; only what is given (given again, it replaces what it names)."""
    prov = {}
    if args.device_id:
        prov["dev"] = args.device_id
    if args.trust:
        prov["trust"] = parse_trust(args.trust)
    if args.receipts:
        prov["receipts"] = parse_receipts(args.receipts)
    if args.lang:
        prov["lang"] = args.lang
    if args.tz:
        prov["tz"] = args.tz
    return prov


def free_udp_port(host):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def write_json(path, obj):
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(obj))
    os.replace(tmp, path)


def start(args, state, link=None):
    """Start the firmware; returns (child, ready dict) or raises RuntimeError."""
    for _ in range(BIND_RETRIES):
        port = args.port or free_udp_port(args.host)
        settings = {
            "host": args.host,
            "port": port,
            "control_port": free_udp_port("127.0.0.1"),
            "clock_offset": args.clock_offset,
            "frozen_clock": args.frozen_clock,
            "power_cut_after_writes": args.power_cut_after_writes,
            "heap": args.heap,
            "flash": parse_flash(args.flash),
            "serial": link.device_path if link else None,
            "clock_at": args.clock_at,
            "rtc_untrusted": args.rtc_untrusted,
            "rng_seed": args.rng_seed,
            "coap_ack_timeout_ms": args.coap_ack_timeout_ms,
            "fragment_heap": args.fragment_heap,
        }
        write_json(state / "sim.json", settings)
        env = dict(os.environ, MICROPYPATH=".frozen")
        child = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "meldbox_host.sim.launch",
                str(romfs.image()),
                "-X",
                "heapsize=" + args.heap,
                str(SIM_MAIN),
                str(state),
            ],
            stdout=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            env=env,
            text=True,
            bufsize=1,
        )
        line = child.stdout.readline()
        try:
            event = json.loads(line) if line.strip() else {}
        except ValueError:
            event = {}
        if event.get("event") == "ready":
            write_json(
                state / "control.json", {"port": settings["control_port"], "pid": child.pid}
            )
            return child, event
        if event.get("event") == "power-cut":  # the cut fell before the device was up
            child.kill()
            child.wait()
            raise PowerCut()
        rest = child.stdout.read()
        child.wait()
        if event.get("event") == "bind-failed" and args.port == 0:
            continue  # someone took the free port in between: pick another
        raise RuntimeError(
            "the simulated device did not start (exit %s): %s"
            % (child.returncode, event.get("error") or (line + rest).strip() or "no output")
        )
    raise RuntimeError("no free UDP port found after %d tries" % BIND_RETRIES)


def run(args):
    state = Path(args.state)
    try:
        parse_heap(args.heap)
        parse_flash(args.flash)
        prov = provisioning(args)
        state.mkdir(parents=True, exist_ok=True)
        write_json(state / "provision.json", prov)
        link = None
        if args.serial_link:
            from meldbox_host.sim.serial_link import SerialLink

            link = SerialLink(args.serial_link)
        child, ready = start(args, state, link)
    except PowerCut:
        print(
            "meldbox sim-device: power cut after write %s, during boot"
            % args.power_cut_after_writes,
            file=sys.stderr,
        )
        return POWER_CUT_EXIT
    except (UsageError, RuntimeError, OSError) as e:
        print("meldbox sim-device: %s" % e, file=sys.stderr)
        return 2
    try:
        return supervise(args, state, child, ready)
    finally:
        if link is not None:
            link.close()


def supervise(args, state, child, ready):
    def stop(signum, frame):
        threading.Thread(target=orderly_stop, args=(state, child), daemon=True).start()

    # Before the ready line: a SIGTERM sent as soon as it is read must stop the device
    # too, not only this process (the default action would leave the device running).
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    ready["pid"] = child.pid
    print(json.dumps(ready), flush=True)
    for line in child.stdout:  # the device's later events (power cut) and log lines
        try:
            event = json.loads(line)
        except ValueError:
            event = None
        if isinstance(event, dict) and event.get("event") == "power-cut":
            child.kill()
            child.wait()
            (state / "control.json").unlink(missing_ok=True)
            print(
                "meldbox sim-device: power cut after write %s" % args.power_cut_after_writes,
                file=sys.stderr,
            )
            return POWER_CUT_EXIT
        sys.stderr.write(line)
    rc = child.wait()
    (state / "control.json").unlink(missing_ok=True)
    return 0 if rc in (0, -signal.SIGTERM) else rc


def orderly_stop(state, child):
    from meldbox_host.sim.ctl import ControlError, send_command

    try:
        send_command(state, {"cmd": "stop"}, timeout=3)
    except ControlError:
        pass
    try:
        child.wait(timeout=5)
    except subprocess.TimeoutExpired:
        child.kill()
