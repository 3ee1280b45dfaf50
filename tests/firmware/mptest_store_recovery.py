# heapsize: 512K
"""Boot after what should never happen: a record whose apply raises is quarantined (the
device boots, counts it, keeps its chain and goes on), and a log segment ending in a
record cut short (an append that failed half-way) boots and takes the next record where
readers find it."""
import os  # noqa: F401, I001
import struct
from hashlib import sha256

from mptest import eq
from meldbox.core import cose, cbor, ed25519, receipts  # noqa: F401
from meldbox.store import notices, outbox  # noqa: F401
from meldbox.store.messages import message_key

import mptest_store as base

MOUNT = base.MOUNT


def chain_ok(s):
    prev = receipts.ZERO_HASH
    for seq in range(1, s.seq + 1):
        r = s.receipt(seq)
        eq(receipts.decode(r)["prev"], prev, "chain at %d" % seq)
        prev = receipts.chain_hash(r)
    eq(prev, s.head_hash)


def test_a_record_whose_apply_raises_is_quarantined_and_the_device_boots():
    base.fresh()
    s = base.boot()
    raw, c = base.notice(1)
    base.deliver(s, raw, c)
    # a committed record that cannot be applied: a delivered receipt over bytes that are
    # no COSE_Sign1 (as a bug in apply, or a message the store cannot derive, would be)
    bad = b"\xa1\x01\x02not a notice"
    r = receipts.build(base.KEY, base.KID, "dev-1", 2, s.head_hash, "delivered", 1800000020,
                       "rtc", iss="nl.eokm", nid=b"bad-1", nh=sha256(bad).digest())
    s.append_record(2, {"r": r, "m": bad})         # the commit point only, then a reboot
    base.fresh(keep=True)
    s2 = base.boot()
    eq(s2.quarantined, 1)
    eq(s2.seq, 2)
    eq(s2.head_hash, receipts.chain_hash(r))
    eq(2 in base.outbox_seqs(s2), True)                          # its receipt still goes out
    raw3, c3 = base.notice(3)
    eq(base.deliver(s2, raw3, c3)[0], 3)                # the chain goes on
    chain_ok(s2)
    base.fresh(keep=True)
    s3 = base.boot()                           # and it is remembered
    eq((s3.quarantined, s3.seq, s3.index.count), (1, 3, 2))


def test_a_record_cut_short_at_the_end_of_the_log_boots_and_is_dropped():
    base.fresh()
    s = base.boot()
    for i in range(3):
        raw, c = base.notice(i)
        base.deliver(s, raw, c)
    head = s.head_hash
    with open(s.segment(4), "ab") as f:                # header of seq 4, half a body
        f.write(struct.pack("<II", 4, 400))
        f.write(b"\xa2" + bytes(100))
    base.fresh(keep=True)
    s2 = base.boot()
    eq((s2.seq, s2.head_hash), (3, head))
    eq(s2.torn_tail, 8 + 101)
    eq(s2.record(4), None)
    raw, c = base.notice(9)
    seq, r = base.deliver(s2, raw, c)                   # appended where readers look
    eq(seq, 4)
    eq(s2.receipt(4), r)
    base.fresh(keep=True)
    s3 = base.boot()
    eq((s3.seq, s3.torn_tail, s3.index.count), (4, 0, 4))
    chain_ok(s3)


def test_a_withdraw_before_its_notice_closes_the_notice_as_it_arrives():
    base.fresh()
    s = base.boot()
    raw, c = base.notice(5)
    raww, cw = base.withdraw(1, c["id"])
    wseq, _ = base.deliver(s, raww, cw, kind="withdrawn")      # the withdraw overtook it
    eq(notices.get(s, message_key("nl.eokm", c["id"])), None)
    seq, _ = base.deliver(s, raw, c)
    n = notices.get(s, message_key("nl.eokm", c["id"]))
    eq((n["state"], n["last"], s.index.count), ("withdrawn", wseq, 0))
    other_raw, other = base.notice(6)
    base.deliver(s, other_raw, other)                           # others are not touched
    eq(s.index.count, 1)
    base.fresh(keep=True)
    s2 = base.boot()
    eq((s2.index.count, notices.get(s2, message_key("nl.eokm", c["id"]))["state"]),
       (1, "withdrawn"))


def test_early_withdraws_are_bounded():
    base.fresh()
    s = base.boot()
    for i in range(notices.EARLY_WITHDRAWS + 5):
        raww, cw = base.withdraw(i, b"never-%03d" % i)
        base.deliver(s, raww, cw, kind="withdrawn")
    eq(len(s.read_cbor(MOUNT + "/mb/early")), notices.EARLY_WITHDRAWS)
