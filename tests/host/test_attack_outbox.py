"""One issuer's receipt URI that never answers (down, or an attacker's address) must not
hold up the receipts to other issuers (issue 10). Raw UDP receivers, hand-made COSE."""

import socket
import time

from tests.host.attacker import ACK, CON, Issuer, Peer, Reply, coap
from tests.host.simdevice import SimDevice

DEV = "nl.hoster-a.desk-1"


def test_an_unreachable_issuer_does_not_stall_receipts_to_another(tmp_path):
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # takes, never answers
    silent.bind(("127.0.0.1", 0))
    live = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    live.bind(("127.0.0.1", 0))
    a, b = Issuer("nl.down"), Issuer("nl.up")
    dev = SimDevice(
        tmp_path / "dev",
        "--device-id",
        DEV,
        "--trust",
        a.trust_flag(),
        "--trust",
        b.trust_flag(),
        "--receipts",
        "nl.down=coap://127.0.0.1:%d/r" % silent.getsockname()[1],
        "--receipts",
        "nl.up=coap://127.0.0.1:%d/r" % live.getsockname()[1],
    )
    dev.start()
    try:
        peer = Peer(dev.udp)
        for _ in range(3):
            assert peer.post(a.sign(a.claims("notice", DEV))).code_text == "2.01"
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:  # the device is busy trying nl.down
            silent.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                if silent.recv(4096):
                    break
            except TimeoutError:
                pass
        sent = peer.post(b.sign(b.claims("notice", DEV)))
        assert sent.code_text == "2.01"
        t0 = time.monotonic()
        live.settimeout(15)
        got = None
        while got is None:
            raw, addr = live.recvfrom(4096)
            msg = Reply(raw)
            if msg.mtype == CON:
                live.sendto(coap(ACK, 0x44, msg.mid, msg.token), addr)  # 2.04
                got = msg
        elapsed = time.monotonic() - t0
        assert got.payload == sent.payload  # B's receipt, byte for byte
        assert elapsed < 10, elapsed
        peer.close()
    finally:
        dev.stop()
        silent.close()
        live.close()
