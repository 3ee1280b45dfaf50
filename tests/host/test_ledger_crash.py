"""`meldbox hotline serve --db` killed with SIGKILL: every receipt it acknowledged is in
the ledger (SQLite and PostgreSQL), and a restart takes the device's retransmissions as
repeats."""

import asyncio
import json
import signal
import subprocess
import sys
from pathlib import Path

import aiocoap
import pytest

from meldbox_host.ledger import open_ledger
from tests.host.ledger_helpers import (  # noqa: F401
    BACKENDS,
    FakeChainDevice,
    FakeHotline,
    ledger_target,
    postgres_server,
)

MELDBOX = Path(sys.executable).with_name("meldbox")


def start_serve(target, dev):
    proc = subprocess.Popen(
        [
            str(MELDBOX),
            "hotline",
            "serve",
            "--port",
            "0",
            "--db",
            target,
            "--device",
            "%s=%s" % (dev.dev, dev.pub.hex()),
            "--hoster",
            "%s=hoster-a" % dev.dev,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    ready = json.loads(proc.stdout.readline())
    assert ready["event"] == "ready", ready
    return proc, ready["port"]


async def post_all(port, payloads, after_ack=None):
    """POST each receipt; stop at the first that is not acknowledged -> codes.
    after_ack(n) is called once the n-th acknowledgement is in."""
    client = await aiocoap.Context.create_client_context(transports=["udp6"])
    codes = []
    try:
        for payload in payloads:
            msg = aiocoap.Message(
                code=aiocoap.POST, payload=payload, uri="coap://127.0.0.1:%d/receipts" % port
            )
            msg.opt.content_format = 18
            try:
                resp = await asyncio.wait_for(client.request(msg).response, 5)
            except (TimeoutError, aiocoap.error.Error):
                break
            codes.append(resp.code.dotted)
            if after_ack is not None:
                after_ack(len(codes))
    finally:
        await client.shutdown()
    return codes


@pytest.mark.parametrize("ledger_target", BACKENDS, indirect=True)
def test_every_acknowledged_receipt_survives_a_kill(ledger_target):
    dev, hotline = FakeChainDevice(), FakeHotline()
    notices = [hotline.notice(dev.dev) for _ in range(20)]
    receipts = [dev.receipt(kind, n) for n in notices for kind in ("delivered", "removed")]
    proc, port = start_serve(ledger_target, dev)
    try:
        # killed the moment the 11th acknowledgement arrives, while the device still posts
        acked = asyncio.run(post_all(port, receipts, lambda n: n == 11 and proc.kill()))
    finally:
        proc.kill()
        proc.wait(10)
    assert acked == ["2.04"] * 11
    ledger = open_ledger(ledger_target)
    held = {r["seq"] for r in ledger.receipts()}
    ledger.close()
    assert set(range(1, len(acked) + 1)) <= held, (len(acked), sorted(held))
    # restarted, it takes the retransmissions as repeats and the rest as new
    proc, port = start_serve(ledger_target, dev)
    try:
        assert asyncio.run(post_all(port, receipts)) == ["2.04"] * len(receipts)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
    ledger = open_ledger(ledger_target)
    assert [r["seq"] for r in ledger.receipts()] == list(range(1, len(receipts) + 1))
    assert ledger.count("findings") == 0
    assert ledger.devices()[dev.dev]["hoster"] == "hoster-a"
    ledger.close()
