"""The panel on the Cortex-M target: the golden screens of tests/golden/ drawn by the
firmware on the QEMU board, compared by the SHA-256 of the panel's RGB565 pixels with
the host's hash of the golden PNG. The notices and the sequence are those of
tests/host/test_panel_golden.py (posted over CoAP, buttons pressed, clock advanced);
the hotline's receipt endpoint does not answer yet, as there ("Hotline ?").
Data: /rom/panel.json (provisioning, the steps, the expected hashes), /rom/pN.bin."""
import asyncio
import hashlib
import json
from binascii import hexlify

from mcu_device import Device
from mcu_runner import eq


def _read(name):
    with open("/rom/" + name, "rb") as f:
        return f.read()


async def scenario(report):
    P = json.loads(_read("panel.json"))
    dev = Device(provisioning=P["provisioning"], clock_at=P["clock_at"], rtc_trusted=True)
    await dev.start()
    app, board = dev.app, dev.board

    async def settle():
        await app.settle()

    for step in P["steps"]:
        op = step[0]
        if op == "post":
            async def post(step=step):
                code, _ = await dev.request(_read(step[1]))
                eq(code, step[2], "code of %s" % step[1])
            await report.check("post %s" % step[1], post)
        elif op == "press":
            board.press(step[1], step[2])
            await asyncio.sleep_ms(step[2])
            await settle()
        elif op == "advance":
            board.advance(step[1])
            await settle()
        elif op == "screen":
            async def screen(step=step):
                await settle()
                got = hexlify(hashlib.sha256(board.display.pixels).digest()).decode()
                eq(got, step[2], "SHA-256 of the panel's pixels")
            await report.check("screen %s" % step[1], screen)
    dev.stop()
