"""Intake on the simulated device (the real firmware on the MicroPython unix port, at the
simulator's default --heap): sustained notices per second and notice-to-receipt latency with
aiocoap sending one notice after another; then a burst of 1000 distinct notices (none
lost, every receipt delivered to a receipt server, the device's heap high-water mark);
then a device holding 500 notices with ten on screen (heap, redraw)."""
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.hostbench import emit  # noqa: E402
from meldbox_host import protocol  # noqa: E402
from meldbox_host.hotline.send import get_status, post_notice  # noqa: E402
from meldbox_host.hotline.serve import ReceiptServer  # noqa: E402
from meldbox_host.sim import ctl  # noqa: E402
from tests.host.e2e import DEV, Hotline, client, device, free_port  # noqa: E402

SUSTAINED = 100
BURST = 1000
STORED = 500


async def status(ctx, dev):
    reply = await get_status(dev.addr, context=ctx)
    return protocol.verify_receipt(reply.payload, dev.device_key)["state"]


async def sustained(dev, hotline):
    ctx = await client()
    try:
        latencies = []
        started = time.perf_counter()
        refused = []
        for _ in range(SUSTAINED):
            cose, _ = hotline.notice()
            t0 = time.perf_counter()
            reply = await post_notice(dev.addr, cose, context=ctx)
            latencies.append(time.perf_counter() - t0)
            if reply.code != "2.01":
                refused.append(reply.code)
        elapsed = time.perf_counter() - started
        emit("sustained intake", SUSTAINED / elapsed, "notices/s", "%d notices, one after another; refused: %s"
             % (SUSTAINED, refused or "none"))
        emit("notice-to-receipt latency", statistics.median(latencies) * 1000, "ms", "median")
        emit("notice-to-receipt latency p95", sorted(latencies)[int(0.95 * len(latencies))] * 1000, "ms")
    finally:
        await ctx.shutdown()


async def burst(dev, hotline, server):
    ctx = await client()
    try:
        sem = asyncio.Semaphore(4)      # at most the endpoint's MAX_INFLIGHT at once
        codes = []

        async def one():
            cose, _ = hotline.notice()
            async with sem:
                reply = await post_notice(dev.addr, cose, context=ctx)
                codes.append(reply.code)
        t0 = time.perf_counter()
        await asyncio.gather(*[one() for _ in range(BURST)])
        elapsed = time.perf_counter() - t0
        accepted = codes.count("2.01")
        emit("burst: accepted", accepted, "of %d" % BURST, "others: %s" % sorted(set(codes) - {"2.01"}))
        emit("burst: intake rate", BURST / elapsed, "notices/s", "4 requests in flight")
        t1 = time.perf_counter()
        while time.perf_counter() - t1 < 60 and server.chain.head(DEV) < accepted:
            await asyncio.sleep(0.2)
        emit("burst: receipts at the hotline", len(server.entries), "",
             "gaps %s, forks %d" % (server.chain.gaps(DEV)[:5], len(server.chain.forks(DEV))))
        state = await status(ctx, dev)
        emit("burst: device heap high-water", state["heap_peak"] // 1024, "KiB",
             "sampled after each verify and at status (default --heap)")
        emit("burst: flash used", state["flash_used"] // 1024, "KiB", "of %d KiB" % (state["flash_total"] // 1024))
    finally:
        await ctx.shutdown()


async def stored(dev, hotline):
    ctx = await client()
    try:
        first_refusal = None
        for n in range(STORED):
            cose, _ = hotline.notice()
            reply = await post_notice(dev.addr, cose, context=ctx)
            if reply.code != "2.01":
                first_refusal = (n, reply.code, protocol.decode_problem(reply.payload).get("detail"))
                break
        emit("500 stored: first refusal", first_refusal[0] if first_refusal else "none",
             "notices stored before it", str(first_refusal[1:]) if first_refusal else "all 500 stored")
        state = await status(ctx, dev)
        emit("500 stored: active notices", state["active"], "")
        mem = ctl.mem(dev.state)
        emit("500 stored: heap in use", mem["alloc"] // 1024, "KiB",
             "live objects after a collection (sim-ctl mem), of %d KiB" % ((mem["alloc"] + mem["free"]) // 1024))
        emit("500 stored: heap high-water", state["heap_peak"] // 1024, "KiB",
             "sampled after each verify and at status, garbage included")
    finally:
        await ctx.shutdown()


def main():
    hotline = Hotline()
    with tempfile.TemporaryDirectory(prefix="meldbox-bench-") as tmp:
        tmp = Path(tmp)
        with device(tmp, hotline, name="sustained") as dev:
            asyncio.run(sustained(dev, hotline))

        rport = free_port()
        with device(tmp, hotline, name="burst", receipts_port=rport) as dev:
            async def run_burst():
                server = ReceiptServer({DEV: dev.device_key})
                await server.start(port=rport)
                try:
                    await burst(dev, hotline, server)
                finally:
                    await server.stop()
            asyncio.run(run_burst())

        with device(tmp, hotline, name="stored") as dev:
            asyncio.run(stored(dev, hotline))
            t0 = time.perf_counter()
            done = dev.ctl("advance", "1", check=False)
            if done.returncode == 0:
                emit("500 stored: sim-ctl advance (tick + redraw)", (time.perf_counter() - t0) * 1000,
                     "ms", "includes the control round trip")
            else:
                emit("500 stored: sim-ctl advance (tick + redraw)", "no answer", "",
                     done.stderr.strip()[:100])


if __name__ == "__main__":
    main()
