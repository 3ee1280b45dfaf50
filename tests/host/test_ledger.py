"""The hotline's ledger on SQLite and on a real PostgreSQL server: what was sent, every
receipt (verified, chained, stored once), findings for gaps, forks and bad input,
checkpoints, and acknowledgement only after the commit."""

import io

import aiocoap
import pytest

from meldbox_host import protocol
from meldbox_host.hotline.serve import ReceiptServer
from meldbox_host.ledger import PinConflict, open_ledger
from meldbox_host.ledger.stats import build_report
from tests.host.ledger_helpers import (  # noqa: F401
    BACKENDS,
    FakeChainDevice,
    FakeHotline,
    ledger_target,
    postgres_server,
)

pytestmark = pytest.mark.parametrize("ledger_target", BACKENDS, indirect=True)


def server_with(target, device):
    ledger = open_ledger(target)
    return ReceiptServer({device.dev: device.pub}, ledger=ledger, err=io.StringIO()), ledger


def test_sent_and_received_are_recorded_and_a_repeat_is_one_row(ledger_target):
    dev, hotline = FakeChainDevice(), FakeHotline()
    server, ledger = server_with(ledger_target, dev)
    notice = hotline.notice(dev.dev, ref="EOKM-1")
    ledger.record_sent(notice[0], notice[1], hoster="hoster-a", answer="2.01", sent_at=1800000000)
    receipts = [
        dev.receipt("delivered", notice, at=1800000005),
        dev.receipt("removed", notice, at=1800000600),
    ]
    for cose in receipts + receipts:
        assert server.handle(cose, 18).code == aiocoap.CHANGED
    assert ledger.count("receipts") == 2 and ledger.count("findings") == 0
    rows = ledger.receipts()
    assert [(r["seq"], r["kind"], r["chain"]) for r in rows] == [
        (1, "delivered", "ok"),
        (2, "removed", "ok"),
    ]
    assert rows[0]["nid"] == notice[0]["id"] and rows[0]["nh"] == protocol.notice_hash(notice[1])
    sent = ledger.messages()
    assert [(m["ref"], m["hoster"], m["answer"], m["sends"]) for m in sent] == [
        ("EOKM-1", "hoster-a", "2.01", 1)
    ]
    ledger.close()


def test_a_restarted_server_takes_the_chain_from_the_ledger(ledger_target):
    dev, hotline = FakeChainDevice(), FakeHotline()
    notice = hotline.notice(dev.dev)
    first = [dev.receipt("delivered", notice), dev.receipt("seen", notice)]
    server, ledger = server_with(ledger_target, dev)
    for cose in first:
        server.handle(cose, 18)
    ledger.close()
    # the device key is pinned: a restart needs no --device
    ledger = open_ledger(ledger_target)
    server = ReceiptServer({}, ledger=ledger, err=io.StringIO())
    assert server.handle(first[1], 18).code == aiocoap.CHANGED
    assert server.handle(dev.receipt("removed", notice), 18).code == aiocoap.CHANGED
    assert [r["chain"] for r in ledger.receipts()] == ["ok", "ok", "ok"]
    assert ledger.count("findings") == 0
    ledger.close()


def test_a_pinned_key_cannot_be_replaced(ledger_target):
    dev = FakeChainDevice()
    ledger = open_ledger(ledger_target)
    ledger.pin_device(dev.dev, dev.pub, "hoster-a")
    with pytest.raises(PinConflict):
        ReceiptServer({dev.dev: FakeChainDevice().pub}, ledger=ledger)
    ledger.close()


def test_gaps_and_forks_are_findings_and_the_receipts_are_kept(ledger_target):
    dev, hotline = FakeChainDevice(), FakeHotline()
    notice = hotline.notice(dev.dev)
    r1, r2, r3 = (dev.receipt(k, notice) for k in ("delivered", "seen", "removed"))
    server, ledger = server_with(ledger_target, dev)
    server.handle(r1, 18)
    server.handle(r3, 18)  # seq 2 not there yet: a gap
    other = FakeChainDevice(dev.dev, dev.seed)  # same key, another history: a fork at seq 1
    fork = other.receipt("removed", notice, at=1800009999)
    assert server.handle(fork, 18).code == aiocoap.CHANGED
    kinds = sorted((f["kind"], f["seq"]) for f in ledger.findings())
    assert kinds == [("fork", 1), ("gap", 3)]
    assert ledger.open_gaps() == {dev.dev: [2]}
    server.handle(r2, 18)  # the gap closes; its finding stays on record
    assert ledger.open_gaps() == {}
    report = build_report(ledger, 1800000000)
    assert sorted((f["kind"], f["open"]) for f in report["findings"]) == [
        ("fork", True),
        ("gap", False),
    ]
    assert [r["seq"] for r in ledger.receipts()] == [1, 2, 3]
    assert ledger.receipts()[0]["kind"] == "delivered"  # the fork did not take seq 1's row
    ledger.close()


def test_bad_input_is_refused_recorded_once_and_shown(ledger_target):
    dev, hotline = FakeChainDevice(), FakeHotline()
    notice = hotline.notice(dev.dev)
    good = dev.receipt("delivered", notice)
    server, ledger = server_with(ledger_target, dev)
    flipped = bytearray(good)
    flipped[-1] ^= 1
    stranger = FakeChainDevice("nl.stranger").receipt("delivered", notice)
    wrong_dev = protocol.sign(dict(protocol.peek_claims(good), dev="nl.other"), dev.seed)
    answers = [
        server.handle(bytes(flipped), 18).code,
        server.handle(bytes(flipped), 18).code,
        server.handle(stranger, 18).code,
        server.handle(b"\xd2\x84\x00", 18).code,
        server.handle(wrong_dev, 18).code,
    ]
    assert answers == [
        aiocoap.UNAUTHORIZED,
        aiocoap.UNAUTHORIZED,
        aiocoap.UNAUTHORIZED,
        aiocoap.BAD_REQUEST,
        aiocoap.FORBIDDEN,
    ]
    kinds = sorted(f["kind"] for f in ledger.findings())
    assert kinds == ["bad-signature", "cose-structure", "unknown-device", "wrong-device"]
    assert ledger.count("receipts") == 0
    err = server.err.getvalue()
    assert "refused a receipt" in err and "bad-signature" in err
    ledger.close()


def test_checkpoints_link_to_held_receipts_or_show_where_the_chain_starts(ledger_target):
    dev, hotline = FakeChainDevice(), FakeHotline()
    notice = hotline.notice(dev.dev)
    r1, r2 = dev.receipt("delivered", notice), dev.receipt("removed", notice)
    linked = dev.checkpoint(2, protocol.chain_hash(r2))
    mismatch = dev.checkpoint(1, bytes(32))
    server, ledger = server_with(ledger_target, dev)
    for cose in (r1, r2, linked, mismatch):
        assert server.handle(cose, 18).code == aiocoap.CHANGED
    # a device whose first three receipts went to another issuer, then were pruned
    late = FakeChainDevice("nl.hoster-b.desk-1")
    for _ in range(3):
        late.receipt("delivered", hotline.notice(late.dev))
    server.add_device(late.dev, late.pub)
    cose = late.checkpoint(3, protocol.chain_hash(late.made[-1]))
    assert server.handle(cose, 18).code == aiocoap.CHANGED
    assert [(c["dev"], c["seq"], c["pseq"], c["link"]) for c in ledger.checkpoints()] == [
        (dev.dev, 3, 2, "linked"),
        (dev.dev, 4, 1, "mismatch"),
        (late.dev, 4, 3, "not-held"),
    ]
    assert sorted((f["kind"], f["dev"]) for f in ledger.findings()) == [
        ("checkpoint-mismatch", dev.dev),
        ("gap", late.dev),
    ]
    ledger.close()


def test_a_receipt_is_not_acknowledged_when_its_row_is_not_committed(ledger_target):
    dev, hotline = FakeChainDevice(), FakeHotline()
    notice = hotline.notice(dev.dev)
    cose = dev.receipt("delivered", notice)
    server, ledger = server_with(ledger_target, dev)
    real = ledger.record_receipt

    def failing(*args, **kw):
        raise OSError("disk full")

    ledger.record_receipt = failing
    assert server.handle(cose, 18).code == aiocoap.SERVICE_UNAVAILABLE
    assert ledger.count("receipts") == 0 and "ledger write failed" in server.err.getvalue()
    ledger.record_receipt = real  # the device retries: now it is taken
    assert server.handle(cose, 18).code == aiocoap.CHANGED
    assert ledger.count("receipts") == 1
    ledger.close()


def test_a_receipt_whose_nh_is_not_what_was_sent_is_a_finding(ledger_target):
    dev, hotline = FakeChainDevice(), FakeHotline()
    notice = hotline.notice(dev.dev)
    ledger = open_ledger(ledger_target)
    ledger.record_sent(notice[0], notice[1])
    other = hotline.notice(dev.dev)[1]  # another notice: other signed bytes
    forged = (notice[0], other)  # a receipt naming notice's id, other's nh
    assert protocol.notice_hash(other) != protocol.notice_hash(notice[1])
    cose = dev.receipt("delivered", forged)
    ledger.record_receipt(protocol.verify_receipt(cose, dev.pub), cose)
    assert [f["kind"] for f in ledger.findings()] == ["nh-mismatch"]
    ledger.close()


def test_a_resend_counts_and_keeps_the_first_send_time(ledger_target):
    hotline = FakeHotline()
    notice = hotline.notice("nl.dev")
    ledger = open_ledger(ledger_target)
    ledger.record_sent(notice[0], notice[1], sent_at=100)
    ledger.record_sent(notice[0], notice[1], sent_at=200)
    [m] = ledger.messages()
    assert (m["sent_at"], m["last_sent"], m["sends"]) == (100, 200, 2)
    ledger.close()


def test_a_device_pinned_later_by_another_process_is_trusted(ledger_target):
    dev, hotline = FakeChainDevice(), FakeHotline()
    ledger = open_ledger(ledger_target)
    server = ReceiptServer({}, ledger=ledger, err=io.StringIO())
    cose = dev.receipt("delivered", hotline.notice(dev.dev))
    assert server.handle(cose, 18).code == aiocoap.UNAUTHORIZED
    other = open_ledger(ledger_target)  # e.g. `hotline send --db` pinning the device
    other.pin_device(dev.dev, dev.pub, "hoster-a")
    other.close()
    assert server.handle(cose, 18).code == aiocoap.CHANGED
    assert [f["kind"] for f in ledger.findings()] == ["unknown-device"]
    ledger.close()
