"""Strangers holding the Block1 reassembly slots and the 8 KiB body buffer (issue 10):
while an attacker keeps sending 16-byte "block 0, more" packets (with Size1 = 8192) from
many ports of two addresses, a genuine 8192-byte notice sent by aiocoap still gets
2.01 within its normal retransmission window."""

import asyncio
import os
import threading
import time

import aiocoap

from tests.host.attacker import BLOCK1, POST, SIZE1, Issuer, Peer, request, uint
from tests.host.simdevice import SimDevice

DEV = "nl.hoster-a.desk-1"
ATTACK_HOSTS = ["127.0.0.%d" % n for n in (9, 10)]


def notice_of_exactly(issuer, size):
    """A signed notice of exactly `size` bytes (padding the last item's URL)."""
    base = "https://files.example.net/"
    items = [{"url": base + "%02d/" % i + "a" * 150} for i in range(max(1, (size - 1000) // 180))]
    pad = 1
    for _ in range(3):
        items[-1] = {"url": base + "b" * pad}
        cose = issuer.sign(issuer.claims("notice", DEV, items=items))
        pad += size - len(cose)
    items[-1] = {"url": base + "b" * pad}
    cose = issuer.sign(issuer.claims("notice", DEV, items=items))
    assert len(cose) == size, len(cose)
    return cose


class Flood(threading.Thread):
    """Block-0 packets of 16 bytes, each from a new source port, until stopped."""

    def __init__(self, target):
        super().__init__(daemon=True)
        self.target = target
        self.stop = threading.Event()
        self.sent = 0

    def run(self):
        while not self.stop.is_set():
            for host in ATTACK_HOSTS:
                peer = Peer(self.target, host)
                block0 = uint(0 << 4 | 1 << 3 | 0)  # num 0, more, 16-byte blocks
                peer.send(
                    request(
                        POST,
                        "/notices",
                        peer.next_mid(),
                        os.urandom(4),
                        os.urandom(16),
                        18,
                        [(BLOCK1, block0), (SIZE1, uint(8192))],
                    )
                )
                peer.close()
                self.sent += 1
            self.stop.wait(0.02)


def test_genuine_8_kib_notice_gets_through_a_block1_flood(tmp_path):
    hotline = Issuer("nl.eokm")
    dev = SimDevice(tmp_path / "dev", "--device-id", DEV, "--trust", hotline.trust_flag())
    dev.start()
    flood = Flood(dev.udp)
    try:
        flood.start()
        deadline = time.monotonic() + 5
        while flood.sent < 40 and time.monotonic() < deadline:  # the slots are taken
            time.sleep(0.01)
        assert flood.sent >= 40
        sent_before = flood.sent

        async def post():
            ctx = await aiocoap.Context.create_client_context(transports=["udp6"])
            try:
                times = []
                for size in (8192, 3000):
                    cose = notice_of_exactly(hotline, size)
                    msg = aiocoap.Message(
                        code=aiocoap.POST, payload=cose, uri="coap://%s:%d/notices" % dev.udp
                    )
                    msg.opt.content_format = 18
                    t0 = time.monotonic()
                    # aiocoap's own CON retransmission window (about 93 s) bounds this.
                    resp = await asyncio.wait_for(ctx.request(msg).response, 93)
                    times.append(time.monotonic() - t0)
                    assert str(resp.code) == "2.01 Created", (resp.code, resp.payload[:200])
                return times
            finally:
                await ctx.shutdown()

        times = asyncio.run(post())
        # The attack went on meanwhile (how much depends on how fast the device answered).
        assert flood.sent > sent_before, (sent_before, flood.sent)
        assert max(times) < 15, times
    finally:
        flood.stop.set()
        flood.join(5)
        dev.stop()
