"""End to end: a hotline (pycose + aiocoap) and a real simulated device (the firmware on
the MicroPython unix port): notices in, signed receipts back, receipts delivered to the
hotline's receipt endpoint, idempotency, Block1, and a hotline that is down for a while."""

import socket
import time

import aiocoap
import pytest

from tests.host.e2e import (
    DEV,
    free_port,
    nh,
    outbox_len,
    protocol,
    receipt_server,
    run_client,
    send,
    status,
    wait_for,
)

pytestmark = pytest.mark.slow


def test_full_flow_notice_ping_withdraw_status_and_delivery(hotline, devices):
    rport = free_port()
    dev = devices(hotline, receipts_port=rport)

    async def scenario(ctx):
        async with receipt_server(dev, rport) as server:
            cose, claims = hotline.notice(due=None)
            reply = await send(ctx, dev, cose)
            assert reply.code == "2.01", reply
            assert reply.content_format == 18
            r1 = protocol.verify_receipt(reply.payload, dev.device_key)
            assert (r1["kind"], r1["seq"], r1["dev"]) == ("delivered", 1, DEV)
            assert r1["prev"] == bytes(32)
            assert r1["nid"] == claims["id"] and r1["nh"] == nh(cose)
            assert r1["iss"] == hotline.iss and r1["clock"] == "rtc"

            st = await status(ctx, dev)
            assert st["seq"] == 0 and st["kind"] == "status"
            assert st["prev"] == protocol.chain_hash(reply.payload)
            assert "iss" not in st and "nid" not in st

            ping, pclaims = hotline.ping()
            reply = await send(ctx, dev, ping)
            assert reply.code == "2.04", reply
            ping_receipt = reply.payload
            r2 = protocol.verify_receipt(reply.payload, dev.device_key)
            assert (r2["kind"], r2["seq"], r2["nid"]) == ("status", 2, pclaims["id"])
            assert r2["state"]["active"] == 1

            wd, wclaims = hotline.withdraw(claims["id"])
            reply = await send(ctx, dev, wd)
            assert reply.code == "2.04", reply
            r3 = protocol.verify_receipt(reply.payload, dev.device_key)
            assert (r3["kind"], r3["seq"], r3["nid"]) == ("withdrawn", 3, wclaims["id"])
            assert r3["prev"] == protocol.chain_hash(ping_receipt)
            st = await status(ctx, dev)
            assert st["state"]["active"] == 0

            wk = aiocoap.Message(code=aiocoap.GET, uri=dev.addr + "/.well-known/core")
            resp = await ctx.request(wk).response
            assert resp.code == aiocoap.CONTENT
            assert b"</notices>" in resp.payload and b"</status>" in resp.payload

            # every receipt reaches the hotline, in order, once, chain intact
            assert await wait_for(lambda: len(server.entries) >= 3, timeout=30)
            seqs = [e["seq"] for e in server.entries]
            assert seqs == [1, 2, 3]
            assert all(e["chain"] == "ok" for e in server.entries)
            assert server.chain.gaps(DEV) == [] and server.chain.forks(DEV) == []

    run_client(scenario)


def test_idempotent_receipts_survive_reboot_and_id_reuse_is_4_09(hotline, devices):
    dev = devices(hotline)

    async def first(ctx):
        cose, claims = hotline.notice()
        a = await send(ctx, dev, cose)
        b = await send(ctx, dev, cose)
        assert a.code == b.code == "2.01"
        assert a.payload == b.payload  # byte-identical receipt
        other, _ = hotline.notice(id=claims["id"], ref="changed")
        c = await send(ctx, dev, other)
        assert c.code == "4.09", c
        assert protocol.decode_problem(c.payload)["title"]
        return cose, a.payload

    cose, receipt = run_client(first)
    dev.stop()
    dev.start()

    async def second(ctx):
        again = await send(ctx, dev, cose)
        assert again.code == "2.01" and again.payload == receipt
        nxt, _ = hotline.notice()
        r = await send(ctx, dev, nxt)
        assert protocol.verify_receipt(r.payload, dev.device_key)["seq"] == 2

    run_client(second)


def test_duplicate_con_message_id_gets_the_same_response(hotline, devices):
    """A retransmitted CON (same message id, same endpoint) is answered from the
    deduplication cache: same bytes, and no second receipt in the chain."""
    dev = devices(hotline)
    cose, _ = hotline.notice()
    # CON POST /notices, mid 0x1234, token 0xAB, Uri-Path "notices", Content-Format 18
    header = bytes([0x41, 0x02, 0x12, 0x34, 0xAB])
    options = bytes([0xB7]) + b"notices" + bytes([0x11, 18])
    datagram = header + options + b"\xff" + cose
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(10)
        s.sendto(datagram, dev.udp)
        first, _ = s.recvfrom(4096)
        s.sendto(datagram, dev.udp)
        second, _ = s.recvfrom(4096)
    assert first == second
    assert first[0] >> 4 == 0x6 and first[1] == 0x41  # ACK, 2.01
    assert first[2:4] == b"\x12\x34" and first[4] == 0xAB  # mid and token echoed

    async def check(ctx):
        nxt, _ = hotline.notice()
        r = await send(ctx, dev, nxt)
        assert protocol.verify_receipt(r.payload, dev.device_key)["seq"] == 2

    run_client(check)


def test_6_kib_notice_arrives_over_block1(hotline, devices):
    dev = devices(hotline)

    async def scenario(ctx):
        urls = ["https://cdn%d.example.org/%s" % (i, "p" * 150) for i in range(36)]
        cose, claims = hotline.notice(urls=urls)
        assert 6 * 1024 <= len(cose) <= 8192
        reply = await send(ctx, dev, cose)
        assert reply.code == "2.01", reply
        r = protocol.verify_receipt(reply.payload, dev.device_key)
        assert r["nh"] == nh(cose)

    run_client(scenario)


def attempts_on(port, count, timeout=60):
    """A hotline that is down: its port takes datagrams and answers none. Returns once
    `count` delivery attempts (CON requests, retransmissions included) arrived."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", port))
        deadline = time.monotonic() + timeout
        for n in range(count):
            s.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                s.recvfrom(4096)
            except TimeoutError:
                raise AssertionError(
                    "only %d delivery attempts within %g s" % (n, timeout)
                ) from None


def test_receipts_reach_a_hotline_that_was_down_in_order_once(hotline, devices):
    rport = free_port()
    dev = devices(hotline, receipts_port=rport)

    async def post_five(ctx):
        for _ in range(5):
            cose, _ = hotline.notice()
            assert (await send(ctx, dev, cose)).code == "2.01"

    run_client(post_five)
    attempts_on(rport, 2)  # the device tried, and retransmitted, while nobody answered
    assert dev.control("status")["outbox"] == 5

    async def hotline_back(ctx):
        async with receipt_server(dev, rport) as server:

            async def all_delivered():  # the outbox is empty: nothing more will be sent
                return await outbox_len(dev) == 0

            assert await wait_for(all_delivered, timeout=90)
            seqs = [e["seq"] for e in server.entries]
            assert seqs == [1, 2, 3, 4, 5], seqs
            assert all(e["chain"] == "ok" for e in server.entries)

    run_client(hotline_back)
