"""`meldbox demo`: the whole flow on one machine, in under a minute.

A hotline (keys made here, pycose + aiocoap) and a simulated device (the real firmware on
the MicroPython unix port): notices go in (one already overdue, one EU one-hour order, a
drill), signed receipts come back and reach the hotline's receipt endpoint, staff open and
resolve the most urgent notice on the panel, one notice is withdrawn, and the panel is
saved as a PNG. Everything sent and received goes into a ledger (OUT/ledger.sqlite); the
demo ends with `meldbox hotline report` of that ledger and the dashboard's address.
"""

import argparse
import asyncio
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from meldbox_host import ledger as ledger_mod
from meldbox_host import protocol
from meldbox_host.hotline import report as report_mod
from meldbox_host.hotline.send import get_status, post_notice
from meldbox_host.hotline.serve import ReceiptServer
from meldbox_host.ledger import stats
from meldbox_host.sim import ctl

DEV = "nl.hoster-a.desk-1"
HOSTER = "nl.hoster-a"
DASHBOARD = "127.0.0.1:8080"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--out", default="demo-out", help="folder for the device state, logs and panel.png"
    )
    p.add_argument("--lang", choices=("en", "nl"), default="en")


def say(text: str) -> None:
    print(text, flush=True)


class DemoDevice:
    def __init__(self, state: Path, flags: list[str]) -> None:
        self.state = state
        self.log = open(state.parent / "device.log", "w")
        self.proc = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("meldbox")),
                "sim-device",
                "--state",
                str(state),
                "--port",
                "0",
            ]
            + flags,
            stdout=subprocess.PIPE,
            stderr=self.log,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the simulated device did not start; see %s" % self.log.name)
        self.ready = json.loads(line)
        self.uri = "coap://%s:%d" % (self.ready["host"], self.ready["port"])
        self.key = bytes.fromhex(self.ready["device_key"])

    def stop(self) -> None:
        self.proc.terminate()
        try:
            return self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


async def demo(out, lang, ledger):
    eokm = protocol.HotlineKey.generate("nl.eokm")
    atkm = protocol.HotlineKey.generate("eu.atkm")
    server = ReceiptServer({}, log_path=str(out / "receipts.jsonl"), ledger=ledger)
    port = await server.start(port=0)
    say("hotline: receipt endpoint on coap://127.0.0.1:%d/receipts" % port)
    flags = ["--device-id", DEV, "--lang", lang]
    for key in (eokm, atkm):
        flags += [
            "--trust",
            "%s=%s" % (key.iss, key.public.hex()),
            "--receipts",
            "%s=coap://127.0.0.1:%d/receipts" % (key.iss, port),
        ]
    device = DemoDevice(out / "device", flags)
    server.add_device(DEV, device.key, HOSTER)
    ledger.pin_device(DEV, device.key, HOSTER, device.uri)
    say("device: %s on %s, key %s..." % (DEV, device.uri, device.ready["device_key"][:16]))
    try:
        now = int(time.time())
        notices = [
            (
                "EOKM 24 h notice",
                eokm,
                dict(
                    cat="csam",
                    basis="NL NTD code",
                    ref="EOKM-2026-00417",
                    urls=["https://files.example.net/u/417/a.jpg"],
                    due=now + 86400,
                ),
            ),
            (
                "EOKM notice already overdue",
                eokm,
                dict(
                    cat="csam",
                    basis="NL NTD code",
                    ref="EOKM-2026-00399",
                    urls=["https://img.example.org/x/399.png"],
                    iat=now - 90000,
                    due=now - 3600,
                ),
            ),
            (
                "EU removal order, one hour from receipt",
                atkm,
                dict(
                    cat="terror",
                    basis="EU 2021/784 art. 3",
                    ref="ATKM-RO-2026-0031",
                    urls=["https://video.example.com/v/31"],
                    within=3600,
                    nodisclose=True,
                    preserve=now + 183 * 86400,
                ),
            ),
            (
                "EOKM drill",
                eokm,
                dict(
                    cat="other",
                    basis="NL NTD code",
                    ref="EOKM-DRILL-7",
                    urls=["https://test.example.net/drill"],
                    due=now + 7200,
                    test=True,
                ),
            ),
        ]
        sent = {}
        for label, key, fields in notices:
            urls = fields.pop("urls")
            claims = protocol.build_notice(key.iss, DEV, urls, **fields)
            cose = protocol.sign(claims, key.private_key)
            ledger.record_sent(claims, cose)
            reply = await post_notice(device.uri, cose)
            ledger.record_answer(claims["iss"], claims["id"], reply.code)
            receipt = protocol.verify_receipt(reply.payload, device.key)
            sent[label] = claims
            say(
                "hotline -> device: %-42s %s, receipt seq %d (%s)"
                % (label, reply.code, receipt["seq"], receipt["kind"])
            )

        forged = protocol.build_notice(
            "nl.eokm", DEV, ["https://example.net/forged"], ref="FORGED-1"
        )
        reply = await post_notice(
            device.uri, protocol.sign(forged, protocol.HotlineKey.generate("nl.eokm").private_key)
        )
        say(
            "forger  -> device: %-42s %s %s"
            % (
                "notice signed with an unknown key",
                reply.code,
                protocol.decode_problem(reply.payload)["detail"],
            )
        )

        for button, hold in (("X", 100), ("X", 100), ("X", 100), ("X", 1200)):
            ctl.press(str(device.state), button, hold)
        say("panel: staff open the most urgent notice and record 'removed' (X, X, X, hold X)")

        withdraw = protocol.build_withdraw("nl.eokm", DEV, sent["EOKM drill"]["id"])
        withdraw_cose = protocol.sign(withdraw, eokm.private_key)
        ledger.record_sent(withdraw, withdraw_cose)
        reply = await post_notice(device.uri, withdraw_cose)
        say("hotline -> device: %-42s %s" % ("withdraw of the drill", reply.code))

        status = await get_status(device.uri)
        st = protocol.verify_receipt(status.payload, device.key)
        say("device status: %s" % json.dumps(st.get("state", {})))

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(server.entries) < 7:
            await asyncio.sleep(0.2)
        for e in sorted(server.entries, key=lambda e: e["seq"]):
            say(
                "hotline <- receipt: seq %d %-10s %s chain %s"
                % (e["seq"], e["kind"], e.get("iss") or "", e["chain"])
            )
        ctl.snapshot(str(device.state), str(out / "panel-recorded.png"))
        ctl.press(str(device.state), "X")  # back to the list: the countdowns
        png = out / "panel.png"
        ctl.snapshot(str(device.state), str(png))
        say("panel snapshot: %s" % png)
    finally:
        device.stop()
        await server.stop()
    return len(server.entries)


def run(args: argparse.Namespace) -> int:
    out = Path(args.out).resolve()
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    started = time.monotonic()
    db = out / "ledger.sqlite"
    ledger = ledger_mod.open_ledger(db)
    try:
        got = asyncio.run(demo(out, args.lang, ledger))
        say(
            "demo done in %.1f s: %d receipts at the hotline, files in %s"
            % (time.monotonic() - started, got, out)
        )
        say("\n$ meldbox hotline report --db %s" % db)
        say(report_mod.render_table(stats.build_report(ledger, int(time.time()))).rstrip())
    finally:
        ledger.close()
    say(
        "\ndashboard: http://%s/ once you run\n  %s hotline serve --port 0 --db %s --web %s"
        % (DASHBOARD, Path(sys.executable).with_name("meldbox"), db, DASHBOARD)
    )
    return 0
