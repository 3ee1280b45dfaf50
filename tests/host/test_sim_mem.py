"""`meldbox sim-ctl mem`: a running device reports its heap, within the default budget."""

import asyncio
import json

import pytest

from meldbox_host.sim.paths import DEFAULT_HEAP
from tests.host.e2e import Hotline, client, device, send

pytestmark = pytest.mark.slow  # starts a simulated device


def test_mem_reports_heap_within_the_default_budget(tmp_path):
    hotline = Hotline()
    with device(tmp_path, hotline) as dev:

        async def one():
            ctx = await client()
            try:
                reply = await send(ctx, dev, hotline.notice()[0])
                assert reply.code == "2.01"
            finally:
                await ctx.shutdown()

        asyncio.run(one())
        out = dev.ctl("mem")
        mem = json.loads(out.stdout)
        budget = int(DEFAULT_HEAP.rstrip("K")) * 1024
        assert DEFAULT_HEAP == "256K"
        assert 0 < mem["alloc"] < budget and mem["alloc"] + mem["free"] <= budget
        assert 0 < mem["peak"] <= budget  # sampled at the verify of that notice
