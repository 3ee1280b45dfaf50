"""A power cut on the Cortex-M target: notice A is taken in and acknowledged, then the
K-th flash write while notice B is taken in is torn (half written) and the device stops
dead; the host saves the RAM flash at that moment (QMP pmemsave) and boots it again
(mcu_recover.py). Data: /rom/cut.json (provisioning, K), /rom/a.bin, /rom/b.bin."""
import json
from binascii import hexlify

from mcu_device import Device
from mcu_runner import eq


def _read(name):
    with open("/rom/" + name, "rb") as f:
        return f.read()


def _dead():
    print("@@CUT")
    while True:         # power gone: nothing more happens until the host saves the flash
        pass


async def scenario(report):
    C = json.loads(_read("cut.json"))
    dev = Device(provisioning=C["provisioning"], clock_at=C["clock_at"], rtc_trusted=True)
    await dev.start()

    async def take_a():
        code, payload = await dev.request(_read("a.bin"))
        eq(code, "2.01", "code of A")
        print("@@RECEIPT_A", hexlify(payload).decode())
    await report.check("notice A acknowledged before the cut", take_a)
    bdev = dev.board.block_device
    bdev.cut_after = bdev.writes + C["cut_after"]
    bdev.on_cut = _dead
    code, payload = await dev.request(_read("b.bin"))
    print("@@NO_CUT", code, bdev.writes)     # the cut came too late: the host fails the test
