"""Golden images of every panel screen and state, taken with `sim-ctl snapshot` from a
running simulated device on a frozen clock, compared pixel by pixel with the reviewed
PNGs in tests/golden/. Button flows go down to the receipt the hotline receives.

To review a change of the panel: MELDBOX_UPDATE_GOLDEN=1 pytest tests/host/test_panel_golden.py
rewrites the PNGs; look at every one before committing them.
"""

import asyncio
import os
from pathlib import Path

import pytest
from PIL import Image, ImageChops

from tests.host.e2e import (
    Hotline,
    free_port,
    outbox_len,
    receipt_server,
    run_client,
    send,
    wait_for,
)
from tests.host.golden import ATKM, EOKM, HOUR, T0, forged_notice, list_batch, notice

pytestmark = pytest.mark.slow

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
UPDATE = os.environ.get("MELDBOX_UPDATE_GOLDEN") == "1"


@pytest.fixture
def start(devices):
    """start(name, *flags, receipts_port=None): a device on a frozen clock at T0 with a
    reproducible key, trusting EOKM and (until T0 + 20 days) ATKM; stopped after the test."""
    eokm = Hotline(EOKM.iss, EOKM)
    atkm = "%s=%s,not-after=%d" % (ATKM.iss, ATKM.public.hex(), T0 + 20 * 86400)

    def make(name, *flags, receipts_port=None):
        return devices(
            eokm,
            "--trust",
            atkm,
            "--frozen-clock",
            "--clock-at",
            str(T0),
            "--rng-seed",
            "7",
            *flags,
            name=name,
            receipts_port=receipts_port,
        )

    return make


def check(dev, tmp_path, name):
    """Snapshot the panel and compare it with tests/golden/NAME.png."""
    shot = tmp_path / ("%s.png" % name)
    dev.ctl("snapshot", str(shot))
    golden = GOLDEN / ("%s.png" % name)
    if UPDATE:
        GOLDEN.mkdir(exist_ok=True)
        Image.open(shot).save(golden)
        return
    assert golden.exists(), "no golden image %s (MELDBOX_UPDATE_GOLDEN=1 makes it)" % golden
    got, want = Image.open(shot).convert("RGB"), Image.open(golden).convert("RGB")
    assert got.size == want.size == (320, 240)
    diff = ImageChops.difference(got, want).getbbox()
    assert diff is None, "%s differs from the golden image in %s (see %s)" % (name, diff, shot)


def post(dev, *coses):
    async def go(ctx):
        return [await send(ctx, dev, c) for c in coses]

    return run_client(go)


def press(dev, *buttons):
    for b in buttons:
        if b == "X!":
            dev.ctl("press", "X", "--hold-ms", "1300")
        else:
            dev.ctl("press", b)


def test_list_detail_actions_device_screens_and_the_receipt_they_record(start, tmp_path):
    rport = free_port()
    dev = start("main", receipts_port=rport)
    check(dev, tmp_path, "list-empty")
    one, c1 = notice(EOKM, 1, ref="EOKM-2027-00001", due=T0 + 5 * HOUR)
    assert post(dev, one)[0].code == "2.01"
    press(dev, "A")  # silence the new-notice alert, clear the toast
    dev.ctl("advance", "5")
    check(dev, tmp_path, "list-one")

    batch = list_batch()
    assert [r.code for r in post(dev, *batch)] == ["2.01"] * len(batch)
    forged = forged_notice()
    assert post(dev, forged)[0].code == "4.01"
    press(dev, "A")
    dev.ctl("advance", "60")
    check(dev, tmp_path, "list-many")
    press(dev, "B", "B", "B", "B", "B")
    check(dev, tmp_path, "list-scrolled")
    press(dev, *["A"] * 9)  # back to the top: the overdue notice

    # the most urgent (overdue) notice: open, actions, cannot comply, reason, confirm
    press(dev, "X")
    check(dev, tmp_path, "detail-overdue")
    press(dev, "X")
    check(dev, tmp_path, "actions")
    press(dev, "B", "B", "B", "X")
    check(dev, tmp_path, "reason")
    press(dev, "X")
    check(dev, tmp_path, "confirm")
    press(dev, "X!")
    check(dev, tmp_path, "done")
    press(dev, "X")
    press(dev, *["B"] * 9)  # paused notices sort last: the bottom of the list
    check(dev, tmp_path, "list-paused")
    press(dev, *["A"] * 9)

    # the EU order, now on top: banners (do not inform, preservation), within-deadline
    press(dev, "X")
    check(dev, tmp_path, "detail-banners")
    press(dev, "Y", "B", "X")  # the drill: TEST banner
    check(dev, tmp_path, "detail-test")
    press(dev, "Y", "Y")
    check(dev, tmp_path, "device")
    press(dev, *["B"] * 6)  # the EU issuer's key: a warning 30 days before not-after
    check(dev, tmp_path, "device-keys")
    press(dev, "X")
    check(dev, tmp_path, "rejected")

    # what the panel recorded reached the hotline: seen + cannot-comply for notice 2
    async def hotline():
        async with receipt_server(dev, rport) as server:
            assert await wait_for(
                lambda: any(e["kind"] == "cannot-comply" for e in server.entries), timeout=60
            )
            kinds = [
                (e["kind"], e.get("reason"))
                for e in server.entries
                if e["nid"] == (bytes([2]) * 16).hex()
            ]
            assert ("seen", None) in kinds
            assert ("cannot-comply", "force-majeure") in kinds

    asyncio.run(hotline())


def test_x_x_x_hold_x_records_removed_for_the_most_urgent(start):
    rport = free_port()
    dev = start("flow", receipts_port=rport)
    later, _ = notice(EOKM, 5, ref="LATER", due=T0 + 9 * HOUR)
    urgent, c = notice(EOKM, 6, ref="URGENT", due=T0 + HOUR // 2)
    assert [r.code for r in post(dev, later, urgent)] == ["2.01", "2.01"]
    press(dev, "X", "X", "X")
    press(dev, "X")  # a short press on confirm records nothing
    press(dev, "X!")

    async def hotline():
        async with receipt_server(dev, rport) as server:

            async def all_delivered():  # nothing more will be sent
                return await outbox_len(dev) == 0

            assert await wait_for(all_delivered, 60)
            removed = [e for e in server.entries if e["kind"] == "removed"]
            assert len(removed) == 1 and removed[0]["nid"] == c["id"].hex()
            assert [e["seq"] for e in sorted(server.entries, key=lambda e: e["seq"])] == [
                1,
                2,
                3,
                4,
            ]

    asyncio.run(hotline())


def test_untrusted_clock(start, tmp_path):
    dev = start("untrusted", "--rtc-untrusted")
    assert (
        post(dev, notice(EOKM, 1, ref="EOKM-2027-00001", due=T0 + 5 * HOUR)[0])[0].code == "2.01"
    )
    press(dev, "A")
    dev.ctl("advance", "5")
    check(dev, tmp_path, "untrusted-clock")


def test_offline_hotline(start, tmp_path):
    dead = free_port()  # nobody listens: the receipts cannot be delivered
    dev = start("offline", "--coap-ack-timeout-ms", "50", receipts_port=dead)
    assert (
        post(dev, notice(EOKM, 1, ref="EOKM-2027-00001", due=T0 + 5 * HOUR)[0])[0].code == "2.01"
    )
    press(dev, "A")
    # 4 retransmissions at 50 ms doubling, then the delivery counts as failed
    dev.wait_until(lambda st: st["hotline"] is False, timeout=30)
    dev.ctl("advance", "5")
    check(dev, tmp_path, "hotline-offline")


@pytest.mark.parametrize("screen", ["list", "detail"])
def test_dutch(start, tmp_path, screen):
    dev = start("nl-" + screen, "--lang", "nl")
    coses = [
        notice(
            EOKM,
            1,
            ref="EOKM-2027-00001",
            due=T0 + 26 * HOUR,
            note="Graag binnen 24 uur verwijderen. Dank je wel!",
        )[0],
        notice(EOKM, 2, ref="EOKM-2026-00399", iat=T0 - 90000, due=T0 - 2530)[0],
    ]
    assert [r.code for r in post(dev, *coses)] == ["2.01", "2.01"]
    press(dev, "A")
    dev.ctl("advance", "5")
    if screen == "detail":
        press(dev, "B", "X")
    check(dev, tmp_path, "nl-" + screen)
