"""`meldbox hotline report`: the figures of docs/hotline-statistics.md, computed from a
ledger with known receipts, on SQLite and PostgreSQL, in table, CSV and JSON."""

import csv
import io
import json

import pytest

from meldbox_host import cli, protocol
from meldbox_host.hotline.report import duration, parse_since
from meldbox_host.ledger import open_ledger
from meldbox_host.ledger.stats import quantile
from tests.host.ledger_helpers import (  # noqa: F401
    BACKENDS,
    FakeChainDevice,
    FakeHotline,
    ledger_target,
    postgres_server,
)

T0 = 1800000000
NOW = T0 + 10000


def feed(ledger, device, kind, notice, at, received=None, clock="ntp", **extra):
    cose = device.receipt(kind, notice, at=at, clock=clock, **extra)
    receipt = protocol.verify_receipt(cose, device.pub)
    ledger.record_receipt(receipt, cose, received=at + 1 if received is None else received)


def scenario(target):
    """Hoster A: one removed in time, one late, one not ours, one overdue. Hoster B: one
    removed under an untrusted clock, one cannot comply, one withdrawn, one `within`
    notice overdue, one with a device time before it was sent, and a gap in the chain."""
    ledger = open_ledger(target)
    hotline = FakeHotline()
    a, b = FakeChainDevice("nl.a.desk"), FakeChainDevice("nl.b.desk")
    ledger.pin_device(a.dev, a.pub, "hoster-a")
    ledger.pin_device(b.dev, b.pub, "hoster-b")

    def sent(dev, ref, **kw):
        kw.setdefault("due", T0 + 3600)
        notice = hotline.notice(dev.dev, iat=T0, ref=ref, **kw)
        ledger.record_sent(notice[0], notice[1], sent_at=T0)
        return notice

    n1, n2, n3, n4 = (sent(a, ref) for ref in ("A-1", "A-2", "A-3", "A-4"))
    for n in (n1, n2, n3, n4):
        feed(ledger, a, "delivered", n, T0 + 5)
    feed(ledger, a, "seen", n1, T0 + 60)
    feed(ledger, a, "removed", n1, T0 + 600)
    feed(ledger, a, "removed", n2, T0 + 7200)
    feed(ledger, a, "not-ours", n3, T0 + 300, note="Niet onze klant")

    m1, m2, m3 = sent(b, "B-1"), sent(b, "B-2"), sent(b, "B-3")
    m4 = sent(b, "B-4", due=None, within=3600)
    m5 = sent(b, "B-5", due=T0 + 3000)
    feed(ledger, b, "delivered", m1, T0 + 5)
    feed(ledger, b, "removed", m1, T0 + 100, received=T0 + 250, clock="untrusted")
    feed(ledger, b, "delivered", m2, T0 + 5)
    feed(ledger, b, "cannot-comply", m2, T0 + 50, reason="force-majeure")
    feed(ledger, b, "delivered", m3, T0 + 5)
    withdraw = hotline.withdraw(b.dev, m3[0]["id"], iat=T0 + 50)
    ledger.record_sent(withdraw[0], withdraw[1], sent_at=T0 + 50)
    feed(ledger, b, "withdrawn", withdraw, T0 + 51)
    b.receipt("delivered", hotline.notice(b.dev))  # a receipt for another issuer: never seen
    feed(ledger, b, "delivered", m4, T0 + 1000)
    feed(ledger, b, "delivered", m5, T0 - 1000, received=T0 + 20)
    return ledger


@pytest.mark.parametrize("ledger_target", BACKENDS, indirect=True)
def test_figures_per_hoster_and_device(ledger_target, capsys):
    scenario(ledger_target).close()
    assert (
        cli.main(
            ["hotline", "report", "--db", ledger_target, "--format", "json", "--now", str(NOW)]
        )
        == 0
    )
    report = json.loads(capsys.readouterr().out)
    a, b = report["hosters"]
    assert [a["hoster"], b["hoster"]] == ["hoster-a", "hoster-b"]  # slowest to remove first
    assert (a["notices"], a["withdrawn"], b["notices"], b["withdrawn"]) == (4, 0, 5, 1)
    assert (a["delivered_median_s"], a["seen_median_s"], a["seen_n"]) == (5, 60, 1)
    assert (a["removed_n"], a["removed_median_s"], a["removed_p90_s"]) == (2, 600, 7200)
    assert (a["decided"], a["removed_in_time"], a["removed_in_time_share"]) == (4, 1, 0.25)
    assert (a["not_ours"], a["not_ours_share"], a["not_ours_reasons"]) == (
        1,
        0.25,
        {"Niet onze klant": 1},
    )
    # an untrusted clock: the arrival time stands in, and the notice is marked
    assert (b["removed_median_s"], b["untrusted_clock"]) == (250, 2)
    # a device time before the notice was sent is not believed either
    assert b["delivered_p90_s"] == 1000 and b["delivered_median_s"] == 5
    assert (b["cannot_comply"], b["cannot_comply_reasons"]) == (1, {"force-majeure": 1})
    assert (b["decided"], b["removed_in_time_share"]) == (4, 0.25)
    assert [(o["ref"], o["overdue_s"], o["last"]) for o in report["overdue"]] == [
        ("B-5", NOW - T0 - 3000, "delivered"),
        ("A-4", NOW - T0 - 3600, "delivered"),
        ("B-4", NOW - T0 - 4600, "delivered"),
    ]
    assert (a["overdue"], b["overdue"]) == (1, 2)
    dev_b = [d for d in report["devices"] if d["dev"] == "nl.b.desk"][0]
    assert dev_b["missing_seqs"] == 1 and dev_b["findings"] == {"gap": 1}
    assert report["open_gaps"] == {"nl.b.desk": [7]}


@pytest.mark.parametrize("ledger_target", BACKENDS[:1], indirect=True)
def test_filters_and_formats(ledger_target, capsys):
    ledger = scenario(ledger_target)
    hotline, a = FakeHotline("nl.later"), FakeChainDevice("nl.a.desk")
    later = hotline.notice(a.dev, iat=T0 + 5000, ref="A-LATE", due=T0 + 6000)
    ledger.record_sent(later[0], later[1], hoster="hoster-a", sent_at=T0 + 5000)
    ledger.close()
    cli.main(
        [
            "hotline",
            "report",
            "--db",
            ledger_target,
            "--format",
            "json",
            "--now",
            str(NOW),
            "--since",
            str(T0 + 1000),
            "--hoster",
            "hoster-a",
        ]
    )
    report = json.loads(capsys.readouterr().out)
    assert [(h["hoster"], h["notices"]) for h in report["hosters"]] == [("hoster-a", 1)]
    assert [o["ref"] for o in report["overdue"]] == ["A-LATE"]
    cli.main(["hotline", "report", "--db", ledger_target, "--format", "csv", "--now", str(NOW)])
    figures, overdue, findings = capsys.readouterr().out.strip().split("\n\n")
    rows = list(csv.DictReader(io.StringIO(figures)))
    assert [(r["scope"], r["hoster"], r["notices"]) for r in rows] == [
        ("hoster", "hoster-a", "5"),
        ("hoster", "hoster-b", "5"),
        ("device", "hoster-a", "5"),
        ("device", "hoster-b", "5"),
    ]
    assert json.loads(rows[1]["reasons"]) == {"cannot_comply": {"force-majeure": 1}}
    assert [r["ref"] for r in csv.DictReader(io.StringIO(overdue))] == [
        "B-5",
        "A-4",
        "B-4",
        "A-LATE",
    ]
    assert [(r["kind"], r["open"]) for r in csv.DictReader(io.StringIO(findings))] == [
        ("gap", "1")
    ]
    cli.main(["hotline", "report", "--db", ledger_target, "--now", str(NOW)])
    table = capsys.readouterr().out
    assert table.index("hoster-a") < table.index("hoster-b")
    assert "10m00s / 2h00m" in table and "Overdue now (4, oldest deadline first)" in table
    assert "force-majeure" in table and "Receipts never received (seqs): nl.b.desk 7" in table
    assert "Chain findings (1, 1 open)" in table


def test_helpers():
    assert quantile([], 0.5) is None
    assert quantile([5, 1, 3, 2, 4], 0.5) == 3 and quantile(list(range(1, 11)), 0.9) == 9
    assert [duration(s) for s in (None, 59, 61, 3601, 90000)] == [
        "-",
        "59s",
        "1m01s",
        "1h00m",
        "1d01h",
    ]
    assert parse_since("2d", now=200000) == 200000 - 172800
    assert parse_since("2027-01-15") == 1799971200 and parse_since("123") == 123
    with pytest.raises(ValueError):
        parse_since("yesterday")
