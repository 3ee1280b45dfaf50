# heapsize: 512K
# firmware: rom
"""Steady-state intake keeps nothing per notice (issue 9): notices verified, committed
to real littlefs and answered, one after another, leave the live heap where it was; what
grows with the number of notices is on flash, and in the active-notice index reserved at
boot. The firmware comes from the ROMFS image, as on the board, so only run-time objects
are counted."""
import gc
import os

from clock_double import FrozenClock
from mptest import eq, scratch

import vfs

from boards.sim.flash import FileBlockDevice
from meldbox.app.intake import Intake
from meldbox.app.ledger import Ledger
from meldbox.app.model import PanelIndex
from meldbox.core import cbor, cose, ed25519
from meldbox.core.trust import TrustStore
from meldbox.store import flash
from meldbox.store.startup import open_store

IMG = scratch("meldbox-mptest-intake-steady.img")
MOUNT = "/mptest_intake"
DEVICE_KEY = ed25519.SigningKey(bytes(range(32)))
ISSUER_KEY = ed25519.SigningKey(bytes(range(7, 39)))
ISS = "nl.eokm"
T0 = 1800000000


def intake():
    try:
        os.remove(IMG)
    except OSError:
        pass
    flash.mount(FileBlockDevice(IMG), MOUNT)
    store = open_store(MOUNT + "/mb", PanelIndex())
    clock = FrozenClock(T0)
    ledger = Ledger(store, DEVICE_KEY, cose.kid_of(DEVICE_KEY.public), "dev-1", clock)
    trust = TrustStore.from_list([{"iss": ISS, "key": ISSUER_KEY.public}])
    return Intake(ledger, trust, clock), clock


def notice(n, t):
    claims = {"v": 1, "t": "notice", "id": b"steady-%06d" % n, "iss": ISS, "aud": "dev-1",
              "iat": t, "cat": "csam", "basis": "NL NTD code", "ref": "EOKM-%d" % n,
              "due": t + 86400,
              "items": [{"url": "https://h%d.example/u/%d/p.jpg" % (n % 7, n)}] * (1 + n % 3)}
    return cose.sign1(cbor.dumps(claims), ISSUER_KEY, cose.kid_of(ISSUER_KEY.public))


def live():
    gc.collect()
    return gc.mem_alloc()


def test_notices_taken_in_leave_the_heap_where_it_was():
    take, clock = intake()
    messages = [notice(n, T0) for n in range(60)]   # made first: the test's own objects
    for n in range(10):                             # warm-up: caches, first files, tables
        eq(take.receive(messages[n])[0], 0x41, "notice %d" % n)
    before = live()
    for n in range(10, 35):
        eq(take.receive(messages[n])[0], 0x41, "notice %d" % n)
    after_25 = live()
    for n in range(35, 60):
        eq(take.receive(messages[n])[0], 0x41, "notice %d" % n)
    after_50 = live()
    eq(after_25 - before < 512, True, "25 notices kept %d bytes" % (after_25 - before))
    eq(after_50 - after_25 < 256, True, "25 more kept %d bytes" % (after_50 - after_25))
    eq(take.store.index.count, 60)
    vfs.umount(MOUNT)
