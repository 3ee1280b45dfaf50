"""A ledger written by an older Meldbox (schema version 1) opens in this one: the
migrations run, nothing is lost, and the chain goes on where it stopped."""

import importlib.util
import json
import shutil
from pathlib import Path

import aiocoap
import pytest

from meldbox_host.hotline.serve import ReceiptServer
from meldbox_host.ledger import db as dbmod
from meldbox_host.ledger import open_ledger, schema
from tests.host.ledger_helpers import postgres_server  # noqa: F401

DATA = Path(__file__).resolve().parents[1] / "data"
VECTORS = json.loads((DATA / "notices.json").read_text())
RECEIPTS = [bytes.fromhex(r["cose"]) for r in VECTORS["receipts"]]


def _writer():
    spec = importlib.util.spec_from_file_location("make_ledger_v1", DATA / "make_ledger_v1.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _check_upgraded(target):
    ledger = open_ledger(target)
    try:
        assert ledger.schema_before == 1
        assert schema.current_version(ledger.db) == schema.VERSION == 2
        assert "sends" in ledger.db.table_columns("messages")
        assert [(r["seq"], r["kind"]) for r in ledger.receipts()] == [
            (1, "delivered"),
            (2, "seen"),
        ]
        assert [f["kind"] for f in ledger.findings()] == ["unknown-device"]
        assert ledger.devices()[VECTORS["device_id"]]["hoster"] == "hoster-a"
        # the pinned key and the chain carry on: receipts 3 and 4 link to the old ones
        server = ReceiptServer({}, ledger=ledger)
        assert [server.handle(c, 18).code for c in RECEIPTS[2:4]] == [aiocoap.CHANGED] * 2
        assert [r["chain"] for r in ledger.receipts()] == ["ok"] * 4
        assert ledger.checkpoints() == []  # the v2 table is there and empty
    finally:
        ledger.close()
    reopened = open_ledger(target)
    assert reopened.schema_before == 2
    reopened.close()


def test_the_v1_sqlite_fixture_opens_and_upgrades(tmp_path):
    target = tmp_path / "old.sqlite"
    shutil.copy(DATA / "ledger-v1.sqlite", target)
    _check_upgraded(str(target))


def test_a_v1_ledger_on_postgresql_upgrades(postgres_server):  # noqa: F811
    url = postgres_server.new_database("ledger_v1")
    db = dbmod.connect(url)
    _writer().write_v1(db)
    db.close()
    _check_upgraded(url)


def test_a_ledger_newer_than_this_code_is_refused(tmp_path):
    target = tmp_path / "future.sqlite"
    open_ledger(target).close()
    db = dbmod.connect(target)
    db.execute(
        "INSERT INTO ledger_schema (version, applied) VALUES (?, ?)", (schema.VERSION + 1, 0)
    )
    db.close()
    with pytest.raises(RuntimeError, match="newer than this Meldbox"):
        open_ledger(target)
