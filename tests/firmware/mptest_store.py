# heapsize: 512K
"""The store on real littlefs (vfs.VfsLfs2) over the simulator's file-backed flash:
commit, derived state, replay after a crash between commit and apply, torn writes."""
import os  # noqa: I001
import vfs

from mptest import eq, raises, scratch
from boards.sim.flash import FileBlockDevice
from meldbox.core import cose, cbor, ed25519, receipts
from meldbox.app.model import PanelIndex
from meldbox.store import flash, messages, notices, outbox
from meldbox.store.messages import message_key
from meldbox.store.startup import open_store

IMG = scratch("meldbox-mptest-store.img")  # the session's folder: parallel runs never share it
MOUNT = "/mptest_flash"
SEED = bytes(range(32))
KEY = ed25519.SigningKey(SEED)
KID = cose.kid_of(KEY.public)
ISSUER_KEY = ed25519.SigningKey(bytes(range(1, 33)))
ISSUER_KID = cose.kid_of(ISSUER_KEY.public)


class PowerCut(Exception):
    pass


def fresh(cut_after=None, keep=False):
    try:
        vfs.umount(MOUNT)
    except OSError:
        pass
    if not keep:
        try:
            os.remove(IMG)
        except OSError:
            pass
    def cut():
        raise PowerCut()
    bdev = FileBlockDevice(IMG, block_count=128, cut_after=cut_after, on_cut=cut)
    flash.mount(bdev, MOUNT)
    return bdev


def boot():
    """The store as the app opens it at boot, with the panel's index."""
    return open_store(MOUNT + "/mb", PanelIndex())


def active_keys(s):
    """Keys of the active notices in the panel's list order."""
    return [s.index.entry(i)[0] for i in range(s.index.count)]


def outbox_seqs(s):
    """Every receipt in the outbox (o/IH/SEQ), oldest first."""
    seqs = []
    for entry in os.ilistdir(s.root + "/o"):
        seqs.extend(int(e[0]) for e in os.ilistdir("%s/o/%s" % (s.root, entry[0])))
    seqs.sort()
    return seqs


def notice(n, replaces=None, within=None):
    claims = {"v": 1, "t": "notice", "id": b"notice-%03d" % n, "iss": "nl.eokm",
              "aud": "dev-1", "iat": 1800000000, "cat": "csam", "basis": "NL NTD code",
              "ref": "EOKM-%d" % n, "items": [{"url": "https://h%d.example/x/y" % n}]}
    if within:
        claims["within"] = within
    else:
        claims["due"] = 1800086400 + n
    if replaces:
        claims["replaces"] = replaces
    return cose.sign1(cbor.dumps(claims), ISSUER_KEY, ISSUER_KID), claims


def withdraw(n, ref):
    claims = {"v": 1, "t": "withdraw", "id": b"withdr-%03d" % n, "iss": "nl.eokm",
              "aud": "dev-1", "iat": 1800000100, "ref": ref}
    return cose.sign1(cbor.dumps(claims), ISSUER_KEY, ISSUER_KID), claims


def deliver(store, raw, claims, kind="delivered", at=1800000010):
    from hashlib import sha256
    seq = store.seq + 1
    r = receipts.build(KEY, KID, "dev-1", seq, store.head_hash, kind, at, "rtc",
                       iss="nl.eokm", nid=claims["id"], nh=sha256(raw).digest())
    store.commit(seq, r, raw)
    return seq, r


def act(store, claims, kind, at=1800000500, reason=None):
    seq = store.seq + 1
    r = receipts.build(KEY, KID, "dev-1", seq, store.head_hash, kind, at, "rtc",
                       iss="nl.eokm", nid=claims["id"], nh=bytes(32), reason=reason)
    store.commit(seq, r)
    return seq, r


def test_commit_and_derived_state():
    fresh()
    s = boot()
    eq(s.seq, 0)
    raw, claims = notice(1)
    seq, r = deliver(s, raw, claims)
    eq(seq, 1)
    eq(s.receipt(1), r)
    m = messages.message(s, "nl.eokm", claims["id"])
    eq(m["seq"], 1)
    eq(m["t"], "notice")
    eq(s.index.count, 1)
    n = notices.get(s, message_key("nl.eokm", claims["id"]))
    eq(n["host"], "h1.example")
    eq(n["dl"], claims["due"])
    eq(n["state"], "new")
    eq(outbox_seqs(s), [1])
    eq(s.head_hash, receipts.chain_hash(r))


def test_survives_remount_and_chain_continues():
    fresh()
    s = boot()
    for i in range(5):
        raw, claims = notice(i)
        deliver(s, raw, claims)
    head = s.head_hash
    fresh(keep=True)
    s2 = boot()
    eq(s2.seq, 5)
    eq(s2.head_hash, head)
    eq(s2.index.count, 5)
    eq(len(active_keys(s2)), 5)


def test_replay_applies_committed_but_unapplied_record():
    fresh()
    s = boot()
    raw, claims = notice(7)
    from hashlib import sha256
    r = receipts.build(KEY, KID, "dev-1", 1, s.head_hash, "delivered", 1800000010, "rtc",
                       iss="nl.eokm", nid=claims["id"], nh=sha256(raw).digest())
    # the commit point only, as if power failed before apply
    s.append_record(1, {"r": r, "m": raw})
    fresh(keep=True)
    s2 = boot()
    eq(s2.seq, 1)
    eq(messages.message(s2, "nl.eokm", claims["id"])["seq"], 1)
    eq(s2.index.count, 1)
    eq(outbox_seqs(s2), [1])


def test_withdraw_replace_and_panel_events():
    fresh()
    s = boot()
    raw1, c1 = notice(1)
    raw2, c2 = notice(2)
    raw3, c3 = notice(3, within=3600)
    for raw, c in ((raw1, c1), (raw2, c2), (raw3, c3)):
        deliver(s, raw, c)
    k1, k2, k3 = (message_key("nl.eokm", c["id"]) for c in (c1, c2, c3))
    eq(notices.get(s, k3)["dl"], 1800000010 + 3600)          # within runs from delivery
    eq(active_keys(s)[0], k3)                          # earliest deadline first
    rawr, cr = notice(4, replaces=c1["id"])
    deliver(s, rawr, cr)
    eq(notices.get(s, k1)["state"], "replaced")
    raww, cw = withdraw(1, c2["id"])
    deliver(s, raww, cw, kind="withdrawn")
    eq(notices.get(s, k2)["state"], "withdrawn")
    eq(s.index.count, 2)
    act(s, c3, "seen")
    eq(notices.get(s, k3)["state"], "seen")
    act(s, c3, "cannot-comply", at=1800000610, reason="force-majeure")
    n3 = notices.get(s, k3)
    eq(n3["state"], "cannot-comply")
    eq(n3["paused_left"], 3600 - 600)
    eq(s.index.count, 2)                             # stays listed, paused
    kr = message_key("nl.eokm", cr["id"])
    eq(active_keys(s), [kr, k3])                       # paused ones sort last
    eq(s.index.entry(1), (k3, 1800000010 + 3600, 3600 - 600))
    eq(s.index.position(k3), 1)
    eq(s.index.position(k1), -1)                        # replaced: no longer listed
    s3 = boot()                           # the index is rebuilt at boot
    eq(active_keys(s3), [kr, k3])
    eq(s3.index.entry(1)[2], 3600 - 600)
    act(s, c3, "removed")
    eq(s.index.count, 1)
    eq(notices.claims(s, k3)["ref"], "EOKM-3")
    eq(outbox_seqs(s), list(range(1, s.seq + 1)))
    outbox.acknowledged(s, 1)
    outbox.acknowledged(s, 3)
    eq(outbox_seqs(s)[:2], [2, 4])


def test_seq_must_follow_head():
    fresh()
    s = boot()
    raises(ValueError, s.commit, 2, b"x")


def test_free_flash_is_counted_rarely_and_never_overstated():
    """check_space answers from a lower bound of free flash (statvfs walks every file):
    after each commit the bound is at most what statvfs counts, it is counted far less
    often than once a commit, and notices are still refused once fewer than
    RESERVE_BYTES are really free."""
    from meldbox.core.errors import StoreFull
    from meldbox.store.store import RESERVE_BYTES
    fresh()
    s = boot()
    counts = [0]
    count = s.free_bytes

    def counted():
        counts[0] += 1
        return count()
    s.free_bytes = counted
    commits = 0
    while True:
        try:
            s.check_space()
        except StoreFull:
            break
        raw, claims = notice(200 + commits)
        deliver(s, raw, claims)
        commits += 1
        st = os.statvfs(s.root)
        if s._free is not None:
            assert s._free <= st[0] * st[3], (commits, s._free, st[0] * st[3])
    st = os.statvfs(s.root)
    assert st[0] * st[3] < RESERVE_BYTES, st[0] * st[3]    # refused only when really short
    assert commits > 50, commits
    assert counts[0] * 2 < commits, (counts[0], commits)


def _index_from_files(s):
    """The panel's index as boot rebuilt it before the journal: from every n/ file."""
    out = []
    for e in os.ilistdir(s.root + "/n"):
        n = s.read_cbor("%s/n/%s" % (s.root, e[0]))
        out.append((n["key"], n["dl"],
                    n.get("paused_left") if n["state"] == "cannot-comply" else None))
    order = PanelIndex()
    for key, dl, paused in out:
        order.put(key, dl, paused)
    return [order.entry(i) for i in range(order.count)]


def _index(s):
    return [s.index.entry(i) for i in range(s.index.count)]


def _session(s):
    """Notices in, one replaced, one withdrawn, one paused (cannot comply), one removed."""
    claims = []
    for i in range(8):
        raw, c = notice(300 + i, within=3600 * (i + 1) if i % 2 else None)
        deliver(s, raw, c)
        claims.append(c)
    raw, c = notice(320, replaces=claims[0]["id"])
    deliver(s, raw, c)
    raw, c = withdraw(321, claims[1]["id"])
    deliver(s, raw, c, kind="withdrawn")
    act(s, claims[2], "cannot-comply", reason="force-majeure")
    act(s, claims[3], "removed")
    act(s, claims[4], "seen")


def test_active_list_journal_matches_the_files_across_power_cuts():
    """Boot reads the panel's index from its journal (store/active.py) instead of opening
    every n/ file: after a power cut at any write of a session, the index it reads is the
    one the files give, entry for entry, in list order."""
    bdev = fresh()
    s = boot()
    w0 = bdev.writes
    _session(s)
    writes = bdev.writes - w0
    fresh(keep=True)
    s = boot()
    eq(_index(s), _index_from_files(s))
    eq(s.index.count, 6)
    eq(s.index.entry(5)[2] is not None, True)           # the paused one, last
    assert writes > 40, writes
    for cut in range(2, writes + 5, 5):                 # the last one falls after the session
        fresh()
        boot()
        fresh(cut_after=cut, keep=True)
        try:
            _session(boot())
        except PowerCut:
            pass
        fresh(keep=True)
        s = boot()
        eq(_index(s), _index_from_files(s), "cut at write %d" % cut)


def test_active_list_journal_that_disagrees_is_rebuilt_from_the_files():
    from meldbox.store import active
    fresh()
    s = boot()
    _session(s)
    want = _index(s)
    os.remove(s.root + "/active")                   # a store from before the journal
    s = boot()
    eq(_index(s), want)
    eq(s.active_entries, len(want))                 # written anew at boot
    with open(s.root + "/active", "ab") as f:       # an entry for a notice not in n/
        f.write(b"\x01" * 8 + bytes(8))
    s = boot()
    eq(_index(s), want)
    eq(s.active_entries, len(want))
    for _ in range(2 * len(want) + active.SLACK):   # a long journal is compacted
        active.put(s, want[0][0], want[0][1])
    active.tidy(s)
    eq(s.active_entries, len(want))
    eq(_index(boot()), want)


def test_torn_writes_never_lose_committed_records():
    # Cut power at every k-th block write of a scripted session; each time the
    # filesystem must mount and hold every record whose commit returned.
    for cut in range(3, 120, 9):
        fresh()
        boot()
        fresh(cut_after=cut, keep=True)
        committed = []
        try:
            s = boot()
            for i in range(6):
                raw, c = notice(i)
                seq, r = deliver(s, raw, c)
                committed.append((seq, r))
        except PowerCut:
            pass
        fresh(keep=True)
        s = boot()
        assert s.seq >= len(committed), "cut %d: seq %d < %d" % (cut, s.seq, len(committed))
        for seq, r in committed:
            eq(s.receipt(seq), r, "cut %d seq %d" % (cut, seq))
        prev = receipts.ZERO_HASH
        for seq in range(1, s.seq + 1):
            eq(receipts.decode(s.receipt(seq))["prev"], prev, "chain at %d" % seq)
            prev = receipts.chain_hash(s.receipt(seq))
