"""`meldbox hotline send --db`: the message sent, the device's answer and its receipt go
into the ledger; the device key pinned there verifies later receipts."""

from meldbox_host import protocol as P
from meldbox_host.ledger import open_ledger
from tests.host.test_hotline_cli import DEVICE_ID, DEVICE_PUB, FakeDevice, keyfile, send  # noqa: F401


def test_send_records_the_notice_its_answer_and_the_receipt(tmp_path, capsys, keyfile):  # noqa: F811
    db = str(tmp_path / "ledger.sqlite")
    with FakeDevice("receipt") as device:
        status, out = send(
            capsys,
            device.uri,
            "--aud",
            DEVICE_ID,
            "--db",
            db,
            "--hoster",
            "hoster-a",
            "--cat",
            "csam",
            "--basis",
            "NL NTD code",
            "--ref",
            "EOKM-7",
            "--url",
            "https://x.example/a",
            "--url",
            "https://x.example/b",
            "--due-in",
            "3600",
            key=keyfile,
            device_key=DEVICE_PUB,
        )
        assert status == 0 and out["ledger"] == {"recorded": True, "receipt_new": True}
        sent_cose = device.requests[0][2]
        # the pinned key is used when --device-key is left out
        status, out = send(
            capsys, device.uri, "--aud", DEVICE_ID, "--db", db, "--ping", key=keyfile
        )
        assert status == 0 and out["verified"] is True
    ledger = open_ledger(db)
    by_type = {m["t"]: m for m in ledger.messages()}
    notice, ping = by_type["notice"], by_type["ping"]
    assert (notice["t"], notice["ref"], notice["hoster"], notice["answer"]) == (
        "notice",
        "EOKM-7",
        "hoster-a",
        "2.01",
    )
    assert notice["nh"] == P.notice_hash(sent_cose) and notice["due"] - notice["iat"] == 3600
    assert (ping["t"], ping["hoster"]) == ("ping", "hoster-a")
    [receipt] = ledger.receipts()
    assert (receipt["seq"], receipt["kind"], receipt["nid"]) == (1, "delivered", notice["id"])
    # the fake device answers every message with seq 1: the second one is a fork
    assert [(f["kind"], f["seq"]) for f in ledger.findings()] == [("fork", 1)]
    url_hashes = ledger.db.execute("SELECT url_hashes FROM messages WHERE t = 'notice'")[0][0]
    assert "https" not in url_hashes and len(url_hashes.split(",")) == 2
    ledger.close()


def test_send_without_an_answer_still_records_the_send(tmp_path, capsys, keyfile):  # noqa: F811
    db = str(tmp_path / "ledger.sqlite")
    status, _ = send(
        capsys,
        "coap://127.0.0.1:9",
        "--aud",
        DEVICE_ID,
        "--db",
        db,
        "--timeout",
        "1",
        "--cat",
        "csam",
        "--basis",
        "b",
        "--ref",
        "R-1",
        "--url",
        "https://x/1",
        "--due-in",
        "60",
        key=keyfile,
    )
    assert status == 3
    ledger = open_ledger(db)
    [m] = ledger.messages()
    assert m["ref"] == "R-1" and m["answer"] is None
    ledger.close()
