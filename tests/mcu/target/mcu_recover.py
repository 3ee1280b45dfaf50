"""After the power cut of mcu_cut.py: the saved flash boots, A's receipt is still there
byte for byte, B is either wholly taken in or not at all, and intake goes on.
Data: /rom/cut.json, /rom/a.bin, /rom/b.bin, /rom/c.bin, /rom/receipt_a.bin."""
from mcu_device import Device
from mcu_runner import eq


def _read(name):
    with open("/rom/" + name, "rb") as f:
        return f.read()


async def scenario(report):
    import json
    C = json.loads(_read("cut.json"))
    dev = Device(provisioning=C["provisioning"], clock_at=C["clock_at"] + 60, rtc_trusted=True)
    await dev.start()
    app = dev.app
    from meldbox.core import receipts
    receipt_a = _read("receipt_a.bin")

    async def a_survives():
        assert app.store.seq >= 1, app.store.seq
        code, payload = await dev.request(_read("a.bin"))
        eq(code, "2.01", "code")
        eq(payload, receipt_a, "A's receipt after the cut")
    await report.check("acknowledged notice survives the cut", a_survives)

    async def b_whole_or_absent():
        code, payload = await dev.request(_read("b.bin"))
        eq(code, "2.01", "code")
        got = receipts.decode(payload)
        eq(got["seq"], 2, "seq of B")
        eq(got["prev"], receipts.chain_hash(receipt_a), "B chains onto A")
    await report.check("notice cut mid-write is whole or absent, chain intact", b_whole_or_absent)

    async def goes_on():
        code, payload = await dev.request(_read("c.bin"))
        eq(code, "2.01", "code")
        eq(receipts.decode(payload)["seq"], 3, "seq of C")
        eq(app.index.count, 3, "active notices")
    await report.check("intake goes on after the cut", goes_on)
    dev.stop()
