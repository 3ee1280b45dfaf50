"""Nothing acknowledged is ever lost: a device killed at random moments (SIGKILL to its
process group) or losing power in the middle of a flash write (torn block write) boots
again, still holds every notice it answered 2.01 for (re-sending it returns the
byte-identical receipt) and its receipt chain verifies end to end."""

import asyncio
import random

import pytest

from meldbox_host.hotline.send import NoAnswer
from tests.host.e2e import (
    DEV,
    client,
    free_port,
    protocol,
    receipt_server,
    run_client,
    send,
    status_reply,
    wait_for,
)

pytestmark = pytest.mark.slow

SEND_TIMEOUT_S = 4


async def stream(ctx, dev, hotline, acked, count, stop_when_dead=True):
    """Send up to `count` notices one after another; remember the acknowledged ones."""
    for _ in range(count):
        if stop_when_dead and dev.proc.poll() is not None:
            return
        cose, _ = hotline.notice()
        try:
            reply = await send(ctx, dev, cose, timeout=SEND_TIMEOUT_S)
        except NoAnswer:
            continue
        if reply.code == "2.01":
            acked.append((cose, reply.payload))


async def check_everything_kept(dev, hotline, acked, rport):
    """Every acked notice gives its receipt back byte for byte, and the whole chain
    reaches a receipt server intact."""
    async with receipt_server(dev, rport) as server:
        ctx = await client()
        try:
            return await _check_kept(ctx, server, dev, acked)
        finally:
            await ctx.shutdown()


async def _check_kept(ctx, server, dev, acked):
    for cose, receipt in acked:
        again = await send(ctx, dev, cose)
        assert again.code == "2.01" and again.payload == receipt
    st = protocol.verify_receipt((await _status(ctx, dev)), dev.device_key)

    def whole_chain_arrived():
        if st["prev"] == bytes(32):  # nothing was ever committed
            return not server.entries
        if not server.entries or server.chain.gaps(DEV):
            return False
        newest = max(server.entries, key=lambda e: e["seq"])
        return protocol.chain_hash(bytes.fromhex(newest["cose"])) == st["prev"]

    # the device's chain head (status prev) is the newest receipt the hotline got,
    # and nothing is missing below it
    assert await wait_for(whole_chain_arrived, timeout=120)
    assert server.chain.forks(DEV) == []
    seqs = sorted(e["seq"] for e in server.entries)
    assert seqs == list(range(1, len(seqs) + 1)), seqs
    return len(seqs)


async def _status(ctx, dev):
    reply = await status_reply(ctx, dev)
    assert reply.code == "2.05"
    return reply.payload


def test_sigkill_at_random_moments_loses_nothing_acknowledged(hotline, devices):
    rng = random.Random(20261128)
    rport = free_port()
    dev = devices(hotline, receipts_port=rport, start=False)
    acked = []
    for _ in range(4):
        dev.start()

        async def round_(ctx):
            task = asyncio.ensure_future(stream(ctx, dev, hotline, acked, 200))
            # a random moment, not a wait for a state: the power cut may fall anywhere
            await asyncio.sleep(rng.uniform(0.3, 1.5))
            dev.power_cut()
            await task

        run_client(round_)
    assert len(acked) >= 4
    dev.start()
    total = asyncio.run(check_everything_kept(dev, hotline, acked, rport))
    assert total >= len(acked)


async def session(ctx, dev, hotline, acked):
    """A dozen notices, then a withdraw of the first acknowledged one."""
    await stream(ctx, dev, hotline, acked, 12)
    if dev.proc.poll() is None and acked:
        wd, _ = hotline.withdraw(protocol.peek_claims(acked[0][0])["id"])
        try:
            await send(ctx, dev, wd, timeout=SEND_TIMEOUT_S)
        except NoAnswer:
            # the counted write may be one of the withdraw's own: then the device is
            # gone (the caller checks it died of the cut), else the silence is a failure
            if not await _dies(dev):
                raise


async def _dies(dev, within_s=10):
    deadline = asyncio.get_running_loop().time() + within_s
    while dev.proc.poll() is None:
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


def test_power_cut_in_the_middle_of_a_flash_write_boots_and_keeps_acked(hotline, devices):
    for n in (3, 11, 29, 47, 83, 131, 199, 307):
        rport = free_port()
        dev = devices(hotline, name="cut%d" % n, receipts_port=rport, start=False)
        acked = []
        if dev.start("--power-cut-after-writes", str(n), may_die=True) is None:
            assert dev.wait_exit() == 137, "died during boot for another reason"
            dev.start()  # the cut fell in the first boot: boots now
            asyncio.run(check_everything_kept(dev, hotline, acked, rport))
            continue

        run_client(session, dev, hotline, acked)
        if dev.proc.poll() is None:
            dev.stop()
            cut = False
        else:
            assert dev.wait_exit() == 137, "died for another reason than the power cut"
            cut = True
        dev.start()  # must boot, whatever the cut tore
        asyncio.run(check_everything_kept(dev, hotline, acked, rport))
        assert cut or n > 100, "write %d should have been reached by the session" % n
        dev.stop()
