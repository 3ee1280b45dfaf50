"""A notice -> receipt flow on the Cortex-M target through the in-memory network: the
endpoint's duplicate detection, Block1 reassembly, and the outbox delivering receipts to
the hotline's receipt endpoint. Data: /rom/flow.json, /rom/small.bin, /rom/large.bin."""
import asyncio
import json

from mcu_device import HOTLINE, Device, ReceiptServer, decode, encode  # noqa: F401
from mcu_runner import eq


def _read(name):
    with open("/rom/" + name, "rb") as f:
        return f.read()


async def scenario(report):
    F = json.loads(_read("flow.json"))
    dev = Device(provisioning=F["provisioning"], clock_at=F["clock_at"], rtc_trusted=True)
    hotline = ReceiptServer(dev.sock, tuple(F["receipt_peer"]))
    asyncio.create_task(hotline.run())
    await dev.start()
    app = dev.app
    got = {}

    async def duplicate():
        datagram = encode(0, 2, 0x4242, b"\x07", [(11, b"notices"), (12, b"\x12")],
                          _read("small.bin"))
        first = await dev.exchange(datagram)
        eq(decode(first)[0], "2.01", "first answer")
        seq = app.store.seq
        again = await dev.exchange(datagram)        # the same CON: a retransmission
        eq(again, first, "answer to the duplicate")
        eq(app.store.seq, seq, "seq after the duplicate")
        got["small"] = bytes(decode(first)[3])
    await report.check("duplicate CON gets the same answer and changes nothing", duplicate)

    async def block1():
        large = _read("large.bin")
        assert len(large) > 4096, len(large)
        code, payload = await dev.request(large)
        eq(code, "2.01", "code")
        got["large"] = bytes(payload)
    await report.check("notice over Block1 taken in", block1)

    async def delivered():
        for _ in range(600):
            if got.get("small") in hotline.received and got.get("large") in hotline.received:
                break
            await asyncio.sleep_ms(100)
        assert got["small"] in hotline.received, "receipt of the small notice not delivered"
        assert got["large"] in hotline.received, "receipt of the Block1 notice not delivered"
        for _ in range(100):
            if app.store.outbox_len == 0:
                break
            await asyncio.sleep_ms(100)
        eq(app.store.outbox_len, 0, "outbox after delivery")
    await report.check("receipts delivered to the hotline's endpoint", delivered)
    dev.stop()
