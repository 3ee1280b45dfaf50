"""Shared pieces of the end-to-end tests: a hotline (pycose + aiocoap through
meldbox_host) talking to a real simulated device. The fixtures that start devices and
stop them after the test are in conftest.py (`hotline`, `devices`)."""

import asyncio
import contextlib
import random
import socket
import time

import aiocoap

from meldbox_host import protocol
from meldbox_host.hotline.send import get_status, post_notice
from meldbox_host.hotline.serve import ReceiptServer
from tests.host.simdevice import SimDevice

DEV = "nl.hoster-a.desk-1"
ISS = "nl.eokm"


class Hotline:
    def __init__(self, iss=ISS, key=None):
        """key: a protocol.HotlineKey (reproducible images); a new one by default."""
        self.key = key or protocol.HotlineKey.generate(iss)
        self.iss = iss

    @property
    def trust_flag(self):
        return "%s=%s" % (self.iss, self.key.public.hex())

    def notice(self, aud=DEV, **kw):
        kw.setdefault("urls", ["https://files.example.net/u/%s/a.jpg" % time.monotonic_ns()])
        urls = kw.pop("urls")
        claims = protocol.build_notice(self.iss, aud, urls, **kw)
        return protocol.sign(claims, self.key.private_key), claims

    def withdraw(self, notice_id, aud=DEV):
        claims = protocol.build_withdraw(self.iss, aud, notice_id)
        return protocol.sign(claims, self.key.private_key), claims

    def ping(self, aud=DEV):
        claims = protocol.build_ping(self.iss, aud)
        return protocol.sign(claims, self.key.private_key), claims


def device(tmp_path, hotline, *flags, name="dev", receipts_port=None, heap=None):
    args = ["--device-id", DEV, "--trust", hotline.trust_flag] + list(flags)
    if receipts_port:
        args += ["--receipts", "%s=coap://127.0.0.1:%d/receipts" % (hotline.iss, receipts_port)]
    return SimDevice(tmp_path / name, *args, heap=heap)


# A port chosen now and bound later (a receipt endpoint the device is told about before it
# starts) comes from below the kernel's ephemeral range (32768-60999 on Linux): a port of
# that range may meanwhile be handed to any client socket of a test beside this one (the
# short soak runs beside the others), which happened once: "address already in use".
_PORTS = random.Random()


def free_port():
    while True:
        port = _PORTS.randrange(20000, 32768)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port


async def client():
    return await aiocoap.Context.create_client_context(transports=["udp6"])


RATE_RETRIES = 5


async def send(ctx, dev, cose, timeout=20):
    """POST as a hotline does: a 4.29 (the device's limit per source address, PROTOCOL.md
    5; a fast device meets it when one client sends back to back) is waited out for its
    Max-Age and sent again, up to RATE_RETRIES times. Tests of the limit itself send
    their own requests."""
    return await _waiting_out_4_29(
        lambda: post_notice(dev.addr, cose, timeout=timeout, context=ctx)
    )


async def status_reply(ctx, dev):
    """GET /status as a hotline does (a 4.29 waited out, as in send)."""
    return await _waiting_out_4_29(lambda: get_status(dev.addr, context=ctx))


async def _waiting_out_4_29(request):
    for _ in range(RATE_RETRIES):
        reply = await request()
        if reply.code != "4.29":
            break
        await asyncio.sleep(reply.max_age or 1)
    return reply


async def status(ctx, dev):
    reply = await status_reply(ctx, dev)
    assert reply.code == "2.05", reply
    return protocol.verify_receipt(reply.payload, dev.device_key)


async def outbox_len(dev):
    """How many receipts wait in the device's outbox (its control socket, off the loop)."""
    return (await asyncio.to_thread(dev.control, "status"))["outbox"]


def nh(cose):
    return protocol.notice_hash(cose)


def run_client(scenario, *args):
    """asyncio.run(scenario(ctx, *args)) with a hotline's CoAP client context, shut down
    after; returns what the scenario returns."""

    async def go():
        ctx = await client()
        try:
            return await scenario(ctx, *args)
        finally:
            await ctx.shutdown()

    return asyncio.run(go())


@contextlib.asynccontextmanager
async def receipt_server(dev, port):
    """A hotline's receipt endpoint on 127.0.0.1:port that knows `dev`'s key."""
    server = ReceiptServer({DEV: dev.device_key})
    await server.start(port=port)
    try:
        yield server
    finally:
        await server.stop()


async def wait_for(predicate, timeout=30, step=0.1):
    """Poll predicate() (a coroutine function too) until it is true or the deadline
    passes; returns its last value."""

    async def value():
        v = predicate()
        return (await v) if asyncio.iscoroutine(v) else v

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await value():
            return True
        await asyncio.sleep(step)
    return await value()


__all__ = [
    "Hotline",
    "ReceiptServer",
    "device",
    "free_port",
    "client",
    "run_client",
    "receipt_server",
    "outbox_len",
    "send",
    "status",
    "nh",
    "wait_for",
    "protocol",
    "DEV",
    "ISS",
]
