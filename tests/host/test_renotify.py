"""Re-notification and device watch (hotline/watch.py): overdue notices without a removal
are re-sent, byte for byte, once per interval; a device whose /status does not answer is
flagged once. Time is the watcher's clock, so nothing here waits."""

import asyncio

from meldbox_host import protocol as P
from meldbox_host.hotline.watch import Watcher
from meldbox_host.ledger import open_ledger
from tests.host.ledger_helpers import FakeHotline
from tests.host.test_hotline_cli import DEVICE_ID, DEVICE_PUB, DEVICE_SEED, FakeDevice

T0 = 1800000000


class Clock:
    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


def test_overdue_notices_are_resent_once_per_interval(tmp_path):
    ledger = open_ledger(tmp_path / "l.sqlite")
    hotline = FakeHotline()
    with FakeDevice("receipt") as device:
        ledger.pin_device(DEVICE_ID, DEVICE_PUB, "hoster-a", device.uri)
        late = hotline.notice(DEVICE_ID, iat=T0, due=T0 + 60, ref="LATE")
        done = hotline.notice(DEVICE_ID, iat=T0, due=T0 + 60, ref="DONE")
        running = hotline.notice(DEVICE_ID, iat=T0, due=T0 + 86400, ref="RUNNING")
        for n in (late, done, running):
            ledger.record_sent(n[0], n[1], sent_at=T0)
        removed = P.sign(
            {
                "v": 1,
                "t": "receipt",
                "dev": DEVICE_ID,
                "seq": 1,
                "prev": bytes(32),
                "kind": "removed",
                "iss": done[0]["iss"],
                "nid": done[0]["id"],
                "nh": P.notice_hash(done[1]),
                "at": T0 + 30,
                "clock": "ntp",
            },
            DEVICE_SEED,
        )
        ledger.record_receipt(P.verify_receipt(removed, DEVICE_PUB), removed, received=T0 + 31)
        clock = Clock(T0 + 120)
        watcher = Watcher(ledger, renotify_after=3600, status_every=0, clock=clock, timeout=5)
        tick = lambda: asyncio.run(watcher.tick())["resent"]  # noqa: E731
        assert tick() == []  # overdue, but sent less than an hour ago
        clock.now = T0 + 3600
        assert tick() == ["LATE"]
        assert device.requests[-1][2] == late[1]  # the same bytes as the first time
        clock.now = T0 + 3600 + 1800
        assert tick() == []
        clock.now = T0 + 7200 + 10
        assert tick() == ["LATE"]
        assert [r[2] for r in device.requests] == [late[1], late[1]]
    by_ref = {m["ref"]: m for m in ledger.messages()}
    assert (by_ref["LATE"]["sends"], by_ref["LATE"]["sent_at"]) == (3, T0)
    assert by_ref["LATE"]["last_sent"] == T0 + 7210 and by_ref["LATE"]["answer"] == "2.01"
    assert by_ref["DONE"]["sends"] == 1 and by_ref["RUNNING"]["sends"] == 1
    ledger.close()


def test_a_device_whose_status_does_not_answer_is_flagged_once(tmp_path):
    ledger = open_ledger(tmp_path / "l.sqlite", clock=Clock(T0))
    with FakeDevice("receipt") as device:
        ledger.pin_device(DEVICE_ID, DEVICE_PUB, "hoster-a", device.uri)
        ledger.pin_device(
            "nl.dark", P.HotlineKey.generate("x").public, "hoster-b", "coap://127.0.0.1:9"
        )
        clock = Clock(T0 + 10)
        watcher = Watcher(
            ledger, renotify_after=0, status_every=300, silent_after=900, clock=clock, timeout=1
        )
        assert asyncio.run(watcher.tick())["silent"] == []  # not silent for 900 s yet
        clock.now = T0 + 1000
        assert asyncio.run(watcher.tick())["silent"] == ["nl.dark"]
        clock.now = T0 + 1400
        assert asyncio.run(watcher.tick())["silent"] == []  # flagged once
    devices = ledger.devices()
    assert devices[DEVICE_ID]["status_ok"] == T0 + 1400
    assert devices["nl.dark"]["status_ok"] is None
    assert devices["nl.dark"]["status_tried"] == T0 + 1400
    findings = ledger.findings()
    assert [(f["kind"], f["dev"]) for f in findings] == [("device-silent", "nl.dark")]
    assert "never heard from" in findings[0]["detail"]
    ledger.close()
