"""The golden-screen scenario's data, shared by the simulator's pixel comparison
(test_panel_golden.py) and the same screens on the Cortex-M image (tests/mcu/test_mcu.py):
two issuer keys with reproducible seeds, a frozen clock at T0 and the notices posted."""

from meldbox_host import protocol
from tests.host.e2e import DEV

T0 = 1800000000  # 2027-01-15 08:00 UTC, 09:00 in Amsterdam
HOUR = 3600
EOKM = protocol.HotlineKey("nl.eokm", protocol.private_key_of(bytes(range(32))))
ATKM = protocol.HotlineKey("eu.atkm", protocol.private_key_of(bytes(range(32, 64))))


def notice(key, n, **kw):
    """Notice number n (its id is 16 bytes n) signed by `key` -> (COSE bytes, claims)."""
    kw.setdefault("iat", T0 - 600)
    kw.setdefault("cat", "csam")
    kw.setdefault("basis", "NL NTD code")
    urls = kw.pop("urls", ["https://files.example.net/u/%d/a.jpg" % n])
    claims = protocol.build_notice(key.iss, DEV, urls, id=bytes([n]) * 16, **kw)
    return protocol.sign(claims, key.private_key), claims


def list_batch():
    """The notices posted after notice 1 for the list-many screen (COSE bytes): an overdue
    one (2), an EU removal order with banners (3), a drill (4) and five more (10-14)."""
    return [
        notice(
            EOKM,
            2,
            ref="EOKM-2026-00399",
            iat=T0 - 90000,
            due=T0 - 2530,
            urls=["https://img.example.org/x/399.png"],
        )[0],
        notice(
            ATKM,
            3,
            ref="ATKM-RO-2027-0031",
            cat="terror",
            basis="EU 2021/784 art. 3",
            within=HOUR,
            nodisclose=True,
            preserve=T0 + 183 * 86400,
            urls=["https://video.example.com/v/31", "https://cdn.example.com/v/31.mp4"],
            note="Removal order under EU 2021/784; do not inform the uploader.",
        )[0],
        notice(
            EOKM,
            4,
            ref="EOKM-DRILL-7",
            cat="other",
            due=T0 + 2 * HOUR,
            test=True,
            urls=["https://test.example.net/drill"],
        )[0],
    ] + [
        notice(EOKM, 10 + i, ref="EOKM-2027-%05d" % (10 + i), due=T0 + (6 + i) * HOUR + 77 * i)[0]
        for i in range(5)
    ]


def forged_notice():
    """A notice in EOKM's name signed by another key (refused with 4.01, counted on the
    device screen's rejected list)."""
    return protocol.sign(
        protocol.build_notice("nl.eokm", DEV, ["https://x.example/f"], iat=T0, ref="FORGED"),
        protocol.private_key_of(bytes(32)),
    )
