"""`make fleet` (also a section of `make bench`): a fleet of simulated devices against one
hotline with its ledger.

N devices (`meldbox sim-device`, the real firmware at the 256K heap; each its own hoster),
one `meldbox hotline serve --db` receipt endpoint, and this process as the hotline's
sender: it signs and sends M notices spread over the devices (a tenth already overdue),
records each in the ledger, withdraws some, has staff remove some on the panels
(`sim-ctl press`), and powers one device off halfway (it "goes dark"). Then it checks
that every receipt each live device made is in the ledger (its /status names its chain
head) and reads the report.

Figures: notices/s across the fleet, the hotline endpoint's CPU (from /proc), ledger
rows/s in the run and the ledger's own capacity (rows/s when only it is busy), receipts
in the ledger, and the per-hoster report. Results go to a section of
docs/bench-results.md (between fleet markers), also when run alone.

  python bench/fleet.py [--devices 50] [--notices 5000] [--backend sqlite|postgresql|both]
"""
import argparse
import asyncio
import datetime
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import aiocoap

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from meldbox_host import protocol  # noqa: E402
from meldbox_host.hotline.report import duration, percent  # noqa: E402
from meldbox_host.hotline.send import NoAnswer, get_status, post_notice  # noqa: E402
from meldbox_host.ledger import open_ledger, stats  # noqa: E402
from meldbox_host.ledger.pgtemp import TempPostgres  # noqa: E402
from meldbox_host.sim import ctl  # noqa: E402
from tests.host.simdevice import SimDevice  # noqa: E402

MELDBOX = Path(sys.executable).with_name("meldbox")
RESULTS = ROOT / "docs" / "bench-results.md"
BEGIN, END = "<!-- fleet:begin -->", "<!-- fleet:end -->"
ISS = "nl.eokm"
# as `hotline send` waits: on a loaded 2-core machine a device can take more than 8 s
# (seen: 8.0 s, no answer, with 12 simulated devices busy); a dark one fails at once
SEND_TIMEOUT_S = 30
PER_DEVICE_INFLIGHT = 1     # one notice at a time per device, all devices at once


def cpu_seconds(pid):
    """utime + stime of a process, from /proc."""
    fields = Path("/proc/%d/stat" % pid).read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Fleet:
    def __init__(self, root, n_devices, hotline_port):
        self.key = protocol.HotlineKey.generate(ISS)
        self.devices = []
        for i in range(n_devices):
            dev_id = "nl.hoster-%02d.desk-1" % (i + 1)
            d = SimDevice(Path(root) / dev_id, "--device-id", dev_id,
                          "--trust", "%s=%s" % (ISS, self.key.public.hex()),
                          "--receipts", "%s=coap://127.0.0.1:%d/receipts" % (ISS, hotline_port))
            d.dev_id, d.hoster = dev_id, "hoster-%02d" % (i + 1)
            self.devices.append(d)

    def start(self):
        # started a few at a time: 50 boots at once on 2 cores overrun the ready timeout
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda d: d.start(), self.devices))

    def stop(self):
        for d in self.devices:
            d.stop()


async def send_all(fleet, ledger, notices_total, dark, log):
    """Send the notices, spread round-robin -> per-notice records."""
    lock = asyncio.Lock()
    records, no_answers = [], []
    per_device = {d.dev_id: [] for d in fleet.devices}
    rng = random.Random(12)
    for n in range(notices_total):
        d = fleet.devices[n % len(fleet.devices)]
        now = int(time.time())
        due = now - 600 if rng.random() < 0.1 else now + 3600
        claims = protocol.build_notice(ISS, d.dev_id, ["https://files.example.net/%d/x.jpg" % n],
                                       cat="csam", basis="NL NTD code", ref="FLEET-%05d" % n,
                                       due=due)
        per_device[d.dev_id].append(claims)
    half = len(per_device[dark.dev_id]) // 2

    async def one_device(d):
        # A client socket per device: Linux reports a port-unreachable ICMP (from the dark
        # device) as an error on the next sendto() of the same socket, and aiocoap then
        # fails the request being sent, to whichever device, at once with NetworkError.
        ctx = await aiocoap.Context.create_client_context(transports=["udp6"])
        try:
            await send_device(d, ctx)
        finally:
            await ctx.shutdown()

    async def send_device(d, ctx):
        silent = False
        for i, claims in enumerate(per_device[d.dev_id]):
            if d is dark and i == half:
                d.power_cut()
                log("device %s went dark after %d notices" % (d.dev_id, half))
            # an overdue-on-arrival notice was issued before its deadline (due > iat)
            claims["iat"] = min(int(time.time()), claims["due"] - 3600)
            cose = protocol.sign(claims, fleet.key.private_key)
            ledger.record_sent(claims, cose, hoster=d.hoster)
            code = None
            if not silent:   # after one timeout the rest wait for re-notification
                t_send = time.monotonic()
                try:
                    reply = await post_notice(d.addr, cose, SEND_TIMEOUT_S, ctx)
                    code = reply.code
                except NoAnswer as exc:
                    silent = True
                    no_answers.append("%s notice %d: %s after %.1f s" % (
                        d.dev_id, i, exc, time.monotonic() - t_send))
            ledger.record_answer(ISS, claims["id"], code)
            async with lock:
                records.append((d, claims, cose, code))
    await asyncio.gather(*[one_device(d) for d in fleet.devices])
    return records, no_answers


async def withdraw_some(fleet, ledger, records, count):
    ctx = await aiocoap.Context.create_client_context(transports=["udp6"])
    done = 0
    try:
        live = [r for r in records if r[3] == "2.01"]
        for d, claims, _, _ in random.Random(7).sample(live, min(count, len(live))):
            w = protocol.build_withdraw(ISS, d.dev_id, claims["id"])
            cose = protocol.sign(w, fleet.key.private_key)
            ledger.record_sent(w, cose, hoster=d.hoster)
            try:
                reply = await post_notice(d.addr, cose, SEND_TIMEOUT_S, ctx)
                ledger.record_answer(ISS, w["id"], reply.code)
                done += reply.code == "2.04"
            except NoAnswer:
                pass
    finally:
        await ctx.shutdown()
    return done


def staff_remove(devices, per_device):
    """On each device's panel: open the most urgent notice and record 'removed'."""
    def work(d):
        n = 0
        for _ in range(per_device):
            try:
                for button, hold in (("X", 100), ("X", 100), ("X", 100), ("X", 1200), ("X", 100)):
                    ctl.press(str(d.state), button, hold)
                n += 1
            except Exception:   # a refused press is counted as not done
                pass
        return n
    with ThreadPoolExecutor(8) as pool:
        return sum(pool.map(work, devices))


async def chain_heads(devices):
    """{dev: hash of the newest receipt} from each device's signed /status."""
    ctx = await aiocoap.Context.create_client_context(transports=["udp6"])
    heads = {}
    try:
        for d in devices:
            try:
                reply = await get_status(d.addr, timeout=30, context=ctx)   # a loaded machine
            except NoAnswer as exc:   # say which device, and what it logged
                log_tail = (d.state / "sim-device.log").read_text()[-1500:]
                raise NoAnswer("%s (process exit status %s): %s; its log ends:\n%s" % (
                    d.dev_id, d.proc.poll(), exc, log_tail)) from None
            heads[d.dev_id] = protocol.verify_receipt(reply.payload, d.device_key)["prev"]
    finally:
        await ctx.shutdown()
    return heads


def ledger_has_chain(ledger, dev, head_hash):
    """True when the ledger holds seq 1..n of `dev` without a gap, n's hash is head_hash."""
    rows = ledger.db.execute("SELECT seq, hash FROM receipts WHERE dev = ? ORDER BY seq", (dev,))
    seqs = [r[0] for r in rows]
    return bool(rows) and seqs == list(range(1, len(seqs) + 1)) and bytes(rows[-1][1]) == head_hash


def ledger_capacity(target, n=2000):
    """record_receipt rows/s with nothing else running (fake signed chains)."""
    ledger = open_ledger(target)
    seed = protocol.seed_of(protocol.HotlineKey.generate("x"))
    prev, rows = protocol.ZERO_HASH, []
    for seq in range(1, n + 1):
        claims = {"v": 1, "t": "receipt", "dev": "nl.capacity", "seq": seq, "prev": prev,
                  "kind": "delivered", "iss": ISS, "nid": os.urandom(16), "nh": os.urandom(32),
                  "at": int(time.time()), "clock": "ntp"}
        cose = protocol.sign(claims, seed)
        prev = protocol.chain_hash(cose)
        rows.append((claims, cose))
    t0 = time.perf_counter()
    for claims, cose in rows:
        ledger.record_receipt(claims, cose)
    elapsed = time.perf_counter() - t0
    ledger.db.execute("DELETE FROM receipts WHERE dev = ?", ("nl.capacity",))
    ledger.close()
    return n / elapsed


def run_fleet(target, backend, n_devices, n_notices, log):
    out = {"backend": backend, "devices": n_devices, "notices": n_notices}
    ledger = open_ledger(target)
    with tempfile.TemporaryDirectory(prefix="meldbox-fleet-") as root:
        serve = subprocess.Popen([str(MELDBOX), "hotline", "serve", "--port", "0", "--db", target,
                                  "--renotify-after", "0", "--status-every", "0"],
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        port = json.loads(serve.stdout.readline())["port"]
        # drain its event lines so the pipe never fills
        threading.Thread(target=lambda: [None for _ in serve.stdout], daemon=True).start()
        fleet = Fleet(root, n_devices, port)
        try:
            t0 = time.perf_counter()
            fleet.start()
            out["boot_s"] = time.perf_counter() - t0
            for d in fleet.devices:
                ledger.pin_device(d.dev_id, d.device_key, d.hoster, d.addr)
            dark = fleet.devices[-1]
            live = [d for d in fleet.devices if d is not dark]
            log("%d devices up in %.0f s; sending %d notices"
                % (n_devices, out["boot_s"], n_notices))
            cpu0, t0 = cpu_seconds(serve.pid), time.perf_counter()
            rows0 = ledger.count("messages") + ledger.count("receipts")
            records, out["no_answers"] = asyncio.run(send_all(fleet, ledger, n_notices, dark,
                                                              log))
            send_s = time.perf_counter() - t0
            codes = [r[3] for r in records]
            out["accepted"] = codes.count("2.01")
            out["unanswered"] = codes.count(None)
            out["other_answers"] = ", ".join("%s x%d" % (c, codes.count(c)) for c in
                                             sorted(set(codes) - {"2.01", None})) or "none"
            out["notices_per_s"] = len(records) / send_s
            out["send_s"] = send_s
            log("sent in %.0f s: %d accepted, %d unanswered, other answers: %s" % (
                send_s, out["accepted"], out["unanswered"], out["other_answers"]))
            for line in out["no_answers"]:
                log("no answer: " + line)
            out["withdrawn"] = asyncio.run(withdraw_some(fleet, ledger,
                                                         [r for r in records if r[0] is not dark],
                                                         max(1, n_notices // 50)))
            sample = live[: max(1, len(live) // 2)]
            out["removed_by_staff"] = staff_remove(sample, 2)
            log("withdrawn %d, removed by staff %d" % (out["withdrawn"], out["removed_by_staff"]))
            heads = asyncio.run(chain_heads(live))
            deadline = time.monotonic() + 180
            while True:
                complete = [d.dev_id for d in live if ledger_has_chain(ledger, d.dev_id,
                                                                       heads[d.dev_id])]
                if len(complete) == len(live) or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            total_s = time.perf_counter() - t0
            out["hotline_cpu_s"] = cpu_seconds(serve.pid) - cpu0
            out["hotline_cpu_share"] = out["hotline_cpu_s"] / total_s
            out["run_s"] = total_s
            rows = ledger.count("messages") + ledger.count("receipts") - rows0
            out["ledger_rows"] = rows
            out["ledger_rows_per_s"] = rows / total_s
            out["live_devices_complete"] = "%d of %d" % (len(complete), len(live))
            out["receipts"] = ledger.count("receipts")
            out["findings"] = ledger.count("findings")
            out["report"] = stats.build_report(ledger, int(time.time()))
        finally:
            fleet.stop()
            serve.terminate()
            serve.wait(20)
            ledger.close()
    out["ledger_capacity_rows_per_s"] = ledger_capacity(target)
    return out


def section(results):
    when = datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M")
    lines = [BEGIN, "## fleet (bench/fleet.py, `make fleet`)", "",
             "Run on %s UTC. One hotline (`meldbox hotline serve --db`, its own process) and "
             "N simulated devices (the firmware at `--heap 256K`, each its own hoster) on the "
             "same 2-core machine, shared with the other work on it: the devices' CPU, not "
             "the hotline, sets the pace." % when, "",
             "| measure | " + " | ".join(r["backend"] for r in results) + " |",
             "|---|" + "---|" * len(results)]

    def row(label, fmt, key):
        lines.append("| %s | %s |" % (label, " | ".join(fmt(r[key]) for r in results)))
    row("devices / notices", str, "devices")
    lines[-1] = "| devices / notices sent | %s |" % " | ".join(
        "%d / %d" % (r["devices"], r["notices"]) for r in results)
    row("devices booted in", lambda v: "%.0f s" % v, "boot_s")
    row("notices/s across the fleet", lambda v: "%.1f" % v, "notices_per_s")
    row("accepted (2.01)", str, "accepted")
    row("unanswered (the dark device)", str, "unanswered")
    row("other answers", str, "other_answers")
    row("withdrawn (2.04)", str, "withdrawn")
    row("removed by staff on the panel", str, "removed_by_staff")
    row("hotline endpoint CPU", lambda v: "%.1f s" % v, "hotline_cpu_s")
    row("hotline endpoint CPU share of one core", lambda v: "%.0f%%" % (100 * v),
        "hotline_cpu_share")
    row("ledger rows written (messages + receipts)", str, "ledger_rows")
    row("ledger rows/s in the run", lambda v: "%.1f" % v, "ledger_rows_per_s")
    row("ledger capacity alone (record_receipt rows/s)", lambda v: "%.0f" % v,
        "ledger_capacity_rows_per_s")
    row("live devices whose whole chain is in the ledger", str, "live_devices_complete")
    row("receipts in the ledger", str, "receipts")
    row("findings", str, "findings")
    for r in results:
        lines += ["", "Per hoster, %s run (`meldbox hotline report`, slowest to remove first):"
                  % r["backend"], "",
                  "| hoster | notices | withdrawn | delivered median/p90 | removed n | "
                  "removed median/p90 | in time | overdue |", "|---|---|---|---|---|---|---|---|"]
        for h in r["report"]["hosters"]:
            lines.append("| %s | %d | %d | %s / %s | %d | %s / %s | %s | %d |" % (
                h["hoster"], h["notices"], h["withdrawn"], duration(h["delivered_median_s"]),
                duration(h["delivered_p90_s"]), h["removed_n"], duration(h["removed_median_s"]),
                duration(h["removed_p90_s"]), percent(h["removed_in_time_share"]), h["overdue"]))
    lines.append(END)
    return "\n".join(lines)


def write_section(text):
    old = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    if BEGIN in old and END in old:
        new = old[:old.index(BEGIN)] + text + old[old.index(END) + len(END):]
    else:
        new = old.rstrip("\n") + "\n\n" + text + "\n"
    RESULTS.write_text(new)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--devices", type=int, default=50)
    p.add_argument("--notices", type=int, default=5000)
    p.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    p.add_argument("--no-write", action="store_true", help="print only; leave docs alone")
    args = p.parse_args(argv)

    def log(text):
        print("fleet: " + text, flush=True)
    results = []
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            results.append(run_fleet(os.path.join(tmp, "ledger.sqlite"), "sqlite",
                                     args.devices, args.notices, log))
    if args.backend in ("postgresql", "both"):
        with TempPostgres() as pg:
            results.append(run_fleet(pg.new_database("fleet"), "postgresql",
                                     args.devices, args.notices, log))
    text = section(results)
    print(text)
    if not args.no_write:
        write_section(text)
    for r in results:   # the bench line run.py would read, if it runs this file
        print("@@BENCH " + json.dumps({"name": "fleet notices/s (%s)" % r["backend"],
                                       "value": r["notices_per_s"], "unit": "notices/s",
                                       "note": "%d devices" % r["devices"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
