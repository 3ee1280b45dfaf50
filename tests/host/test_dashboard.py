"""The dashboard of `meldbox hotline serve --web`, in real headless Chromium (Debian's
chromium): the ranked table and the live overdue list, read from the rendered DOM before
and after receipts arrive. The screenshot is saved for review with
MELDBOX_UPDATE_GOLDEN=1 (tests/golden/dashboard.png); it holds times, so it is not
compared pixel by pixel."""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from html.parser import HTMLParser
from pathlib import Path

import pytest
from PIL import Image

from meldbox_host.hotline.web import Dashboard, histogram_svg
from meldbox_host.ledger import open_ledger
from tests.host.ledger_helpers import FakeChainDevice, FakeHotline
from tests.host.test_ledger_crash import post_all

MELDBOX = Path(sys.executable).with_name("meldbox")
GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "dashboard.png"
UPDATE = os.environ.get("MELDBOX_UPDATE_GOLDEN") == "1"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # run the page's timers (the live refresh) before the DOM is dumped
    "--virtual-time-budget=5000",
]


def chromium(url, *extra):
    exe = shutil.which("chromium")
    assert exe, "Debian's chromium is needed (make setup as root installs it)"
    with tempfile.TemporaryDirectory() as profile:
        done = subprocess.run(
            [exe] + CHROMIUM_FLAGS + ["--user-data-dir=" + profile] + list(extra) + [url],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


class Tables(HTMLParser):
    """Rows (lists of cell texts) of every <table id=...> in a document, plus attributes
    of elements with an id."""

    def __init__(self, text):
        super().__init__()
        self.tables, self.ids = {}, {}
        self._table = self._row = self._cell = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids[attrs["id"]] = attrs
        if tag == "table":
            self._table = self.tables.setdefault(attrs.get("id"), [])
        elif tag == "tr" and self._table is not None:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = ""

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append(self._cell.strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self._table.append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data


def test_ranked_table_and_live_overdue_list_in_chromium(tmp_path):
    db = str(tmp_path / "ledger.sqlite")
    now = int(time.time())
    hotline = FakeHotline()
    devs = {h: FakeChainDevice("nl.%s.desk" % h) for h in ("slowhost", "fasthost", "silenthost")}
    ledger = open_ledger(db)
    notices = {}
    for ref, host, due in (
        ("SLOW-1", "slowhost", now - 4000),
        ("SLOW-2", "slowhost", now - 3600),
        ("FAST-1", "fasthost", now - 3500),
        ("SILENT-1", "silenthost", now - 3000),
    ):
        dev = devs[host]
        ledger.pin_device(dev.dev, dev.pub, host)
        notices[ref] = hotline.notice(dev.dev, iat=now - 7200, due=due, ref=ref)
        ledger.record_sent(*notices[ref], sent_at=now - 7200)
    ledger.close()
    proc = subprocess.Popen(
        [
            str(MELDBOX),
            "hotline",
            "serve",
            "--port",
            "0",
            "--db",
            db,
            "--web",
            "127.0.0.1:0",
            "--renotify-after",
            "0",
            "--status-every",
            "0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        ready = json.loads(proc.stdout.readline())
        url = ready["web"]
        before = Tables(chromium(url, "--dump-dom"))
        assert [r[2] for r in before.tables["overdue"][1:]] == [
            "SLOW-1",
            "SLOW-2",
            "FAST-1",
            "SILENT-1",
        ]
        receipts = []
        for ref, host in (
            ("SLOW-1", "slowhost"),
            ("SLOW-2", "slowhost"),
            ("FAST-1", "fasthost"),
            ("SILENT-1", "silenthost"),
        ):
            receipts.append(devs[host].receipt("delivered", notices[ref], at=now - 7100))
        receipts.append(devs["slowhost"].receipt("removed", notices["SLOW-1"], at=now - 600))
        receipts.append(devs["fasthost"].receipt("removed", notices["FAST-1"], at=now - 6900))
        import asyncio

        assert asyncio.run(post_all(ready["port"], receipts)) == ["2.04"] * len(receipts)

        shot = tmp_path / "dashboard.png"
        after = Tables(chromium(url, "--dump-dom"))
        chromium(url, "--window-size=1100,900", "--screenshot=%s" % shot)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
    ranking = after.tables["ranking"]
    assert ranking[0][:5] == ["#", "hoster", "notices", "removed median", "removed p90"]
    # slowest first: nothing removed, then 1h50m, then 5m
    assert [(r[0], r[1], r[3]) for r in ranking[1:]] == [
        ("1", "silenthost", "-"),
        ("2", "slowhost", "1h50m"),
        ("3", "fasthost", "5m00s"),
    ]
    # the overdue list came through the live refresh (plain JS fetch), after the receipts
    assert after.ids["live"]["data-loaded"] == "yes"
    assert [(r[0], r[2], r[5]) for r in after.tables["overdue"][1:]] == [
        ("slowhost", "SLOW-2", "delivered"),
        ("silenthost", "SILENT-1", "delivered"),
    ]
    assert after.tables["findings"][1:] == []
    image = Image.open(shot)
    assert image.size == (1100, 900)
    if UPDATE:
        image.save(GOLDEN)
    assert GOLDEN.exists(), "no %s (MELDBOX_UPDATE_GOLDEN=1 makes it)" % GOLDEN


def test_beyond_loopback_needs_a_token(tmp_path):
    db = str(tmp_path / "l.sqlite")
    open_ledger(db).close()
    with pytest.raises(ValueError, match="web-token"):
        Dashboard(db, "0.0.0.0", 0)
    board = Dashboard(db, "127.0.0.1", 0, token="s3cret").start()
    try:
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(board.url + "report.json", timeout=10)
        assert refused.value.code == 401
        ok = urllib.request.urlopen(board.url + "report.json?token=s3cret", timeout=10)
        assert json.loads(ok.read())["hosters"] == []
        req = urllib.request.Request(
            board.url + "live", headers={"Authorization": "Bearer s3cret"}
        )
        assert b'id="overdue"' in urllib.request.urlopen(req, timeout=10).read()
    finally:
        board.stop()
    done = subprocess.run(
        [str(MELDBOX), "hotline", "serve", "--port", "0", "--db", db, "--web", "0.0.0.0:0"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2 and "web-token" in done.stderr


def test_histogram_counts_each_bucket():
    svg = histogram_svg("h<1>", [10, 20, 4000, 10**7])
    assert svg.startswith("<svg") and "h&lt;1&gt;: 4 removed" in svg
    assert svg.count("<rect") == 8 and ">2</text>" in svg
