"""`meldbox device provision|info --port PORT`: provision or inspect a Meldbox over its
USB serial port. New trusted keys take effect only after someone presses A on the
device's panel while it shows their fingerprints; this command prints the same
fingerprints, so that the two can be compared."""

import argparse
import hashlib
import ipaddress
import json
import sys
import time

from meldbox_host.sim.device import UsageError, provisioning


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", metavar="ACTION")
    sub.required = True
    prov = sub.add_parser(
        "provision", help="set device id, trusted keys, receipt URIs, network, language, time"
    )
    prov.add_argument(
        "--port", required=True, help="serial port of the device (e.g. /dev/ttyACM0)"
    )
    prov.add_argument("--device-id", metavar="ID")
    prov.add_argument(
        "--trust",
        action="append",
        default=[],
        metavar="ISSUER=PUBKEY_HEX[,not-after=T][,revoked][,retention-days=N]",
        help="a trusted issuer key (repeatable; replaces that issuer's keys)",
    )
    prov.add_argument("--receipts", action="append", default=[], metavar="ISSUER=URI")
    prov.add_argument("--lang", choices=("en", "nl"))
    prov.add_argument("--tz", choices=("UTC", "CET"), help="display time zone")
    net = prov.add_mutually_exclusive_group()
    net.add_argument(
        "--dhcp", action="store_true", help="address from DHCP (the default of a new device)"
    )
    net.add_argument("--ip", metavar="ADDR/PREFIX", help="static address, e.g. 192.0.2.10/24")
    prov.add_argument("--gateway", metavar="ADDR", help="default gateway (with --ip)")
    prov.add_argument("--dns", metavar="ADDR")
    prov.add_argument("--ntp", metavar="HOST", help="NTP server (default pool.ntp.org)")
    prov.add_argument("--wifi-ssid", metavar="SSID", help="Wi-Fi variant of the board only")
    prov.add_argument("--wifi-psk", metavar="PASSPHRASE", default="")
    when = prov.add_mutually_exclusive_group()
    when.add_argument(
        "--set-time", action="store_true", help="set the device clock to this computer's time"
    )
    when.add_argument(
        "--time", type=int, metavar="POSIX_SECONDS", help="set the device clock to this time"
    )
    prov.add_argument("--json", action="store_true", help="print the device's answer as JSON")
    info = sub.add_parser(
        "info", help="device key fingerprint, firmware, storage, clock, trusted keys"
    )
    info.add_argument("--port", required=True)
    info.add_argument("--json", action="store_true", help="print the device's answer as JSON")
    for q in (prov, info):
        q.add_argument(
            "--baud", type=int, default=115200, help="for a UART adapter; USB ignores it"
        )
        q.add_argument(
            "--timeout", type=float, default=10, metavar="S", help="wait this long for an answer"
        )


def fingerprint(public_key: bytes) -> str:
    """As the device shows it (meldbox/provision/request.py): SHA-256, first 16 bytes."""
    h = hashlib.sha256(public_key).hexdigest()[:32]
    return " ".join(h[i : i + 4] for i in range(0, 32, 4))


def _net(args):
    net = {}
    if args.ip:
        try:
            iface = ipaddress.IPv4Interface(args.ip)
        except ValueError:
            raise UsageError(
                "--ip %r: expected ADDR/PREFIX such as 192.0.2.10/24" % args.ip
            ) from None
        if "/" not in args.ip or not args.gateway:
            raise UsageError("--ip needs a prefix length and --gateway")
        net.update(dhcp=False, ip=str(iface), gw=args.gateway)
    elif args.gateway:
        raise UsageError("--gateway goes with --ip")
    elif args.dhcp:
        net["dhcp"] = True
    if args.dns:
        net["dns"] = args.dns
    if args.ntp:
        net["ntp"] = args.ntp
    if args.wifi_ssid:
        net["wifi"] = {"ssid": args.wifi_ssid, "psk": args.wifi_psk}
    elif args.wifi_psk:
        raise UsageError("--wifi-psk goes with --wifi-ssid")
    return net


def settings(args: argparse.Namespace) -> dict:
    """The provision request's fields from the command line: the ones sim-device takes
    too (device id, trust, receipts, language, time zone) read as sim-device reads them,
    then network and time."""
    out = provisioning(args)
    net = _net(args)
    if net:
        out["net"] = net
    if args.set_time:
        out["time"] = int(time.time())
    elif args.time is not None:
        out["time"] = args.time
    if not out:
        raise UsageError("nothing to provision: give at least one setting")
    return out


def _change_text(c):
    """One change the device holds for a press, as its panel shows it."""
    field = c.get("field")
    if field == "trust":
        how = c.get("change")
        if how == "not_after":
            end = c.get("not_after")
            how = "valid until %s" % (time.strftime("%Y-%m-%d", time.gmtime(end)) if end else "-")
        return "trust     %-24s %s  %s" % (c.get("iss"), c.get("fingerprint"), how)
    if field == "time":
        new = c.get("new")
        shown = (
            time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(new))
            if isinstance(new, int)
            else new
        )
        return "time      set the clock to %s" % shown
    if field == "receipts":
        return "receipts  %s: %s (was %s)" % (c.get("iss"), c.get("new"), c.get("old") or "-")
    if field == "dev":
        return "dev       %s -> %s" % (c.get("old"), c.get("new"))
    return "%-9s %s" % (field, c.get("new"))


def _show_pending(answer, sent, out):
    """Print what the device shows on its panel: the new keys, each checked against what
    was sent, and the other changes it holds until a press. One write, so that a reader
    of the output (a script waiting for "pending") never sees only part of it."""
    lines = [
        "pending: press A on the device to apply, or B to refuse (%d s)."
        % answer.get("timeout_s", 0)
    ]
    keys = answer.get("keys", [])
    if keys:
        lines.append("Check that the panel shows these keys before you press A:")
    for k in keys:
        ok = (k.get("iss"), k.get("fingerprint")) in sent
        lines.append(
            "  %-24s %s%s"
            % (
                k.get("iss"),
                k.get("fingerprint"),
                "" if ok else "   <- NOT a key given with --trust: press B",
            )
        )
    changes = answer.get("changes", [])
    if changes:
        lines.append("The panel shows these changes:")
    for c in changes:
        lines.append("  " + _change_text(c))
    out.write("\n".join(lines) + "\n")
    out.flush()


def _print_info(a):
    print("device        %s  (%s, firmware %s)" % (a.get("dev"), a.get("board"), a.get("fw")))
    print("device key    %s" % a.get("device_key"))
    print("fingerprint   %s" % a.get("fingerprint"))
    clock = a.get("clock", {})
    now = clock.get("now")
    shown = (
        time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(now)) if isinstance(now, int) else now
    )
    print("clock         %s  (rests on: %s)" % (shown, clock.get("source")))
    st = a.get("storage", {})
    print(
        "storage       %s of %s bytes used; %s active notices, %s receipts in the outbox"
        % (st.get("used"), st.get("total"), st.get("active"), st.get("outbox"))
    )
    heap = a.get("heap", {})
    print(
        "heap          %s bytes free, %s used (budget %s)"
        % (heap.get("free"), heap.get("used"), heap.get("budget"))
    )
    print("trusted keys  %d" % len(a.get("trust", [])))
    for k in a.get("trust", []):
        extra = []
        if k.get("not_after"):
            extra.append("not after %s" % time.strftime("%Y-%m-%d", time.gmtime(k["not_after"])))
        if k.get("revoked"):
            extra.append("REVOKED")
        print("  %-24s %s %s" % (k.get("iss"), k.get("fingerprint"), " ".join(extra)))
    for iss, uri in sorted(a.get("receipts", {}).items()):
        print("receipts      %-16s %s" % (iss, uri))
    print("language      %s, time zone %s" % (a.get("lang"), a.get("tz")))
    if a.get("net"):
        print("network       %s" % json.dumps(a["net"], sort_keys=True))


def run(args: argparse.Namespace) -> int:
    from meldbox_host.provision.client import DeviceClient, DeviceError, LinkError

    try:
        request = settings(args) if args.action == "provision" else None
    except UsageError as e:
        print("meldbox device: %s" % e, file=sys.stderr)
        return 2
    try:
        with DeviceClient(args.port, baudrate=args.baud, timeout=args.timeout) as dev:
            if args.action == "info":
                answer = dev.info()
            else:
                sent = {
                    (e["iss"], fingerprint(bytes.fromhex(e["key"])))
                    for e in request.get("trust", [])
                }
                out = sys.stderr if args.json else sys.stdout
                answer = dev.provision(on_pending=lambda a: _show_pending(a, sent, out), **request)
    except LinkError as e:
        print("meldbox device: %s" % e, file=sys.stderr)
        return 2
    except DeviceError as e:
        if args.json:
            print(json.dumps(e.answer))
        print("meldbox device: refused: %s" % e, file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(answer, sort_keys=True))
    elif args.action == "info":
        _print_info(answer)
    else:
        print("provisioned: %s" % ", ".join(answer.get("applied", [])))
    return 0
