"""Retention end to end (store/retention.py, PROTOCOL.md 4): a simulated device at the
default 256K heap and the board's flash size prunes closed, delivered notices once the
frozen clock is moved past the retention period, chains a checkpoint receipt and
delivers it; a re-sent pruned notice is refused as stale; the chain survives a reboot
and power cuts during compaction."""

import asyncio
import hashlib
import subprocess
import time

import aiocoap
import aiocoap.resource
import cbor2
from pycose.keys import OKPKey
from pycose.keys.curves import Ed25519
from pycose.messages import Sign1Message

from meldbox_host import protocol
from tests.host.e2e import free_port, send, wait_for

DAY = 86400
SEGMENT = 128  # records per log segment (store/store.py SEGMENT_RECORDS)
NOTICES = 70  # 70 notices + 70 withdraws: seq 1..140, log segment 0 is 1..128


class ReceiptSink(aiocoap.resource.Resource):
    """A receipt URI that keeps every receipt by seq (checked with pycose by the test,
    whatever its kind)."""

    def __init__(self):
        super().__init__()
        self.by_seq = {}

    async def render_post(self, request):
        claims = protocol.peek_claims(request.payload)
        self.by_seq.setdefault(claims["seq"], bytes(request.payload))
        return aiocoap.Message(code=aiocoap.CHANGED)


def verified(raw, device_key):
    """The claims of a receipt whose signature pycose accepts."""
    tagged = raw if raw[0] == 0xD2 else b"\xd2" + raw
    msg = Sign1Message.decode(tagged)
    msg.key = OKPKey(crv=Ed25519, x=device_key)
    assert msg.verify_signature()
    return cbor2.loads(msg.payload)


def check_chain(sink, device_key, upto):
    """Every receipt 1..upto arrived, verifies, and links to the one before it."""
    prev = bytes(32)
    for seq in range(1, upto + 1):
        raw = sink.by_seq[seq]
        claims = verified(raw, device_key)
        assert (claims["seq"], claims["prev"]) == (seq, prev), seq
        prev = hashlib.sha256(raw).digest()


async def serve_sink(port):
    sink = ReceiptSink()
    site = aiocoap.resource.Site()
    site.add_resource(("receipts",), sink)
    ctx = await aiocoap.Context.create_server_context(
        site, bind=("127.0.0.1", port), transports=["udp6"]
    )
    return sink, ctx


async def take_and_close(ctx, hotline, dev):
    """NOTICES notices, then a withdraw of each; returns the messages sent."""
    sent = []
    for _ in range(NOTICES):
        cose, claims = hotline.notice(due=int(time.time()) + DAY)
        reply = await send(ctx, dev, cose)
        assert reply.code == "2.01", reply
        sent.append((cose, claims))
    withdraws = []
    for _, claims in sent:
        wcose, _ = hotline.withdraw(claims["id"])
        reply = await send(ctx, dev, wcose)
        assert reply.code == "2.04", reply
        withdraws.append((wcose, reply.payload))
    return sent, withdraws


def test_prune_checkpoint_stale_rule_and_reboot(hotline, devices):
    port = free_port()
    dev = devices(hotline, "--frozen-clock", receipts_port=port)

    async def scenario():
        sink, server = await serve_sink(port)
        ctx = await aiocoap.Context.create_client_context(transports=["udp6"])
        try:
            sent, withdraws = await take_and_close(ctx, hotline, dev)
            assert await wait_for(lambda: len(sink.by_seq) == 2 * NOTICES)
            check_chain(sink, dev.device_key, 2 * NOTICES)
            await asyncio.to_thread(dev.ctl, "advance", str(80 * DAY))
            # before the period: a re-sent notice still gets its stored receipt
            reply = await send(ctx, dev, sent[0][0])
            assert (reply.code, reply.payload) == ("2.01", sink.by_seq[1])
            await asyncio.to_thread(dev.ctl, "advance", str(11 * DAY))
            assert await wait_for(lambda: 2 * NOTICES + 1 in sink.by_seq), sorted(sink.by_seq)
            check_chain(sink, dev.device_key, 2 * NOTICES + 1)
            cp = verified(sink.by_seq[2 * NOTICES + 1], dev.device_key)
            assert cp["kind"] == "checkpoint" and cp["pseq"] == SEGMENT
            assert cp["ph"] == hashlib.sha256(sink.by_seq[SEGMENT]).digest()
            assert not {"iss", "nid", "nh"} & set(cp)
            # a pruned notice sent again is refused, not taken in as new
            for cose, _ in (sent[0], sent[-1]):
                reply = await send(ctx, dev, cose)
                assert reply.code == "4.09", reply
                assert "retention horizon" in protocol.decode_problem(reply.payload)["detail"]
            # a withdraw in the retained segment still gets its stored receipt
            reply = await send(ctx, dev, withdraws[-1][0])
            assert (reply.code, reply.payload) == ("2.04", withdraws[-1][1])
            return sink, server, ctx
        except BaseException:
            await ctx.shutdown()
            await server.shutdown()
            raise

    later = int(time.time()) + 92 * DAY

    async def after_reboot(sink, server, ctx):
        try:
            cose, _ = hotline.notice(iat=later, due=later + 100 * DAY)
            reply = await send(ctx, dev, cose)
            assert reply.code == "2.01", reply
            new = verified(reply.payload, dev.device_key)
            assert new["seq"] == 2 * NOTICES + 2
            assert new["prev"] == hashlib.sha256(sink.by_seq[2 * NOTICES + 1]).digest()
        finally:
            await ctx.shutdown()
            await server.shutdown()

    async def both():
        sink, server, ctx = await scenario()
        dev.stop()
        await asyncio.to_thread(dev.start, "--clock-at", str(later))
        await after_reboot(sink, server, ctx)

    asyncio.run(both())


def test_power_cut_during_compaction_loses_nothing(hotline, devices):
    """Boot at 91 days with a power cut after the n-th flash write, for n across the
    compaction that runs at boot: every receipt stays, the chain is one, and the prune
    completes at the next boot with a single checkpoint."""
    port = free_port()
    dev = devices(hotline, "--frozen-clock", receipts_port=port)

    async def fill():
        sink, server = await serve_sink(port)
        ctx = await aiocoap.Context.create_client_context(transports=["udp6"])
        try:
            sent, withdraws = await take_and_close(ctx, hotline, dev)
            assert await wait_for(lambda: len(sink.by_seq) == 2 * NOTICES)
            return sink, withdraws
        finally:
            await ctx.shutdown()
            await server.shutdown()

    sink, withdraws = asyncio.run(fill())
    dev.stop()
    later = str(int(time.time()) + 91 * DAY)
    cuts = 0
    for n in range(1, 400, 4):
        if (
            dev.start("--clock-at", later, "--power-cut-after-writes", str(n), may_die=True)
            is not None
        ):
            try:
                dev.wait_exit(timeout=5)  # the cut may come after ready
                cuts += 1
            except subprocess.TimeoutExpired:  # compaction (at boot) ended before write n
                dev.stop()
                break
        else:
            cuts += 1
    assert cuts >= 3, cuts

    async def check():
        sink2, server = await serve_sink(port)
        sink2.by_seq.update(sink.by_seq)
        ctx = await aiocoap.Context.create_client_context(transports=["udp6"])
        try:
            await asyncio.to_thread(dev.start, "--clock-at", later)
            assert await wait_for(lambda: 2 * NOTICES + 1 in sink2.by_seq)
            check_chain(sink2, dev.device_key, 2 * NOTICES + 1)
            cp = verified(sink2.by_seq[2 * NOTICES + 1], dev.device_key)
            assert (cp["kind"], cp["pseq"]) == ("checkpoint", SEGMENT)
            reply = await send(ctx, dev, withdraws[-1][0])
            assert (reply.code, reply.payload) == ("2.04", withdraws[-1][1])
            assert await wait_for(lambda: dev.control("status")["outbox"] == 0)
            assert max(sink2.by_seq) == 2 * NOTICES + 1, "one checkpoint, not two"
        finally:
            await ctx.shutdown()
            await server.shutdown()

    asyncio.run(check())
