"""The longest pause the display work causes in answering CoAP, with ten notices shown.

A simulated device (the real firmware, default --heap) holds ten notices, the list on its
panel; its clock runs, so the countdowns tick every second. A client sends small CON
requests (GET /.well-known/core) one after another over loopback and times each answer:
first while the panel only ticks, then while staff move through the screens (sim-ctl
presses: open a notice, back, the device screen, back), each press a full redraw.
The firmware is single-threaded (asyncio): a request that arrives during a redraw waits
for it, so the slowest answers show the pause; the median shows the usual cost.
"""
import asyncio
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiocoap  # noqa: E402

from bench.hostbench import emit  # noqa: E402
from meldbox_host.hotline.send import post_notice  # noqa: E402
from meldbox_host.sim import ctl  # noqa: E402
from tests.host.e2e import Hotline, client, device  # noqa: E402

NOTICES = 10
QUIET_S = 6
BUSY_S = 8


async def timed_gets(ctx, dev, seconds):
    uri = dev.addr + "/.well-known/core"
    times = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        t0 = time.perf_counter()
        await ctx.request(aiocoap.Message(code=aiocoap.GET, uri=uri)).response
        times.append((time.perf_counter() - t0) * 1000)
    return times


def press_through_screens(state, stop):
    presses = 0
    while not stop.is_set():
        for button in ("X", "Y", "Y", "Y"):     # open the top notice, back, device, back
            ctl.press(state, button)
            presses += 1
    return presses


async def run(dev, hotline):
    ctx = await client()
    try:
        for _ in range(NOTICES):
            cose, _ = hotline.notice()
            reply = await post_notice(dev.addr, cose, context=ctx)
            assert reply.code == "2.01", reply.code
        quiet = await timed_gets(ctx, dev, QUIET_S)
        stop = threading.Event()
        presser = threading.Thread(target=press_through_screens, args=(dev.state, stop))
        presser.start()
        try:
            busy = await timed_gets(ctx, dev, BUSY_S)
        finally:
            stop.set()
            presser.join()
    finally:
        await ctx.shutdown()
    emit("CoAP answer, list ticking: median", statistics.median(quiet), "ms",
         "%d requests over %d s, %d notices shown, countdowns ticking" % (len(quiet), QUIET_S, NOTICES))
    emit("CoAP answer, list ticking: longest", max(quiet), "ms", "includes loopback and aiocoap")
    emit("CoAP answer, screens changing: median", statistics.median(busy), "ms",
         "%d requests over %d s while sim-ctl presses move between list, detail and device screens"
         % (len(busy), BUSY_S))
    emit("CoAP answer, screens changing: longest", max(busy), "ms", "the longest pause display work caused")
    emit("display pause (longest - median, screens changing)", max(busy) - statistics.median(quiet), "ms",
         "what a full redraw adds to an answer at worst")


def main():
    hotline = Hotline()
    with tempfile.TemporaryDirectory(prefix="meldbox-bench-") as tmp:
        with device(Path(tmp), hotline, name="pause") as dev:
            asyncio.run(run(dev, hotline))


if __name__ == "__main__":
    main()
