"""End to end: every error row of PROTOCOL.md section 5 against a real simulated device.
Each refusal carries RFC 9290 problem details and leaves the store unchanged, which
the next valid notice's seq shows, before and after a reboot."""

import socket
import time

import aiocoap
import pytest

from tests.host.e2e import DEV, Hotline, protocol, run_client, send, status

pytestmark = pytest.mark.slow


def coap(mtype, code, mid, token, options=b"", payload=b""):
    head = bytes([0x40 | (mtype << 4) | len(token), code, mid >> 8, mid & 0xFF]) + token
    return head + options + (b"\xff" + payload if payload else b"")


def raw_exchange(dev, datagram, timeout=10):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(datagram, dev.udp)
        reply, _ = s.recvfrom(4096)
    return reply


def response_code(datagram):
    return "%d.%02d" % (datagram[1] >> 5, datagram[1] & 31)


def test_every_error_row_answers_with_problem_details_and_changes_nothing(hotline, devices):
    stranger = Hotline("nl.eokm")  # same issuer name, key the device does not trust
    dev = devices(hotline)

    async def scenario(ctx):
        ok, _ = hotline.notice()
        first = await send(ctx, dev, ok)
        assert first.code == "2.01"
        head = await status(ctx, dev)

        cases = []
        # 4.00 malformed CBOR / COSE / claims
        cases.append(("4.00", b"\xd2\x84\x43"))
        bad_claims = protocol.build_notice(hotline.iss, DEV, ["https://a.example/x"])
        bad_claims["items"] = []
        cases.append(("4.00", protocol.sign(bad_claims, hotline.key.private_key)))
        # 4.01 unknown kid; 4.01 bad signature; 4.01 alg not EdDSA
        cases.append(("4.01", stranger.notice()[0]))
        tampered = bytearray(hotline.notice()[0])
        tampered[-5] ^= 0x01
        cases.append(("4.01", bytes(tampered)))
        claims = protocol.build_notice(hotline.iss, DEV, ["https://a.example/y"])
        cases.append(
            (
                "4.01",
                protocol.sign_raw(
                    protocol.encode_claims(claims), hotline.key.private_key, protected={1: -7}
                ),
            )
        )
        # 4.03 aud another device; iss not the key's issuer
        cases.append(("4.03", hotline.notice(aud="nl.other.desk")[0]))
        wrong_iss = protocol.build_notice("eu.atkm", DEV, ["https://a.example/z"])
        cases.append(("4.03", protocol.sign(wrong_iss, hotline.key.private_key)))
        # 4.09 id reused with other bytes
        reused = protocol.build_notice(hotline.iss, DEV, ["https://a.example/r"])
        a = protocol.sign(reused, hotline.key.private_key)
        assert (await send(ctx, dev, a)).code == "2.01"
        head = await status(ctx, dev)
        reused["ref"] = "other"
        cases.append(("4.09", protocol.sign(reused, hotline.key.private_key)))
        # 4.13 too large
        big = protocol.build_notice(hotline.iss, DEV, ["https://a.example/b"], note="x")
        base = len(protocol.sign(big, hotline.key.private_key))
        big["pad"] = "z" * (8193 - base - 8)
        blob = protocol.sign(big, hotline.key.private_key)
        while len(blob) < 8193:
            big["pad"] += "z"
            blob = protocol.sign(big, hotline.key.private_key)
        cases.append(("4.13", blob))

        for expected, payload in cases:
            reply = await send(ctx, dev, payload)
            assert reply.code == expected, (expected, reply)
            assert reply.content_format == 257, reply
            problem = protocol.decode_problem(reply.payload)
            assert problem["title"] and problem.get("detail"), problem
            if expected == "4.13":
                assert reply.size1 == 8192

        # 4.15 wrong Content-Format
        msg = aiocoap.Message(
            code=aiocoap.POST,
            uri=dev.addr + "/notices",
            payload=hotline.notice()[0],
            content_format=60,
        )
        resp = await ctx.request(msg).response
        assert resp.code == aiocoap.UNSUPPORTED_CONTENT_FORMAT
        # 4.04 unknown path, 4.05 wrong method
        resp = await ctx.request(
            aiocoap.Message(code=aiocoap.GET, uri=dev.addr + "/nope")
        ).response
        assert resp.code == aiocoap.NOT_FOUND
        resp = await ctx.request(
            aiocoap.Message(code=aiocoap.GET, uri=dev.addr + "/notices")
        ).response
        assert resp.code == aiocoap.METHOD_NOT_ALLOWED
        assert resp.opt.content_format == 257

        after = await status(ctx, dev)
        assert after["prev"] == head["prev"], "a refusal changed the chain"
        return head

    head = run_client(scenario)

    # 4.02: an unrecognised critical option (number 9, odd = critical), before Uri-Path
    reply = raw_exchange(
        dev,
        coap(
            0,
            0x02,
            0x0101,
            b"\x01",
            bytes([0x90, 0x27]) + b"notices" + bytes([0x11, 18]),
            hotline.notice()[0],
        ),
    )
    assert response_code(reply) == "4.02"

    dev.stop()
    dev.start()

    async def after_reboot(ctx):
        assert (await status(ctx, dev))["prev"] == head["prev"]
        nxt, _ = hotline.notice()
        r = await send(ctx, dev, nxt)
        assert r.code == "2.01"
        assert protocol.verify_receipt(r.payload, dev.device_key)["seq"] == 3

    run_client(after_reboot)


def test_a_flood_from_one_peer_gets_4_29_with_max_age(hotline, devices):
    dev = devices(hotline)
    codes = []
    wkc = bytes([0xBB]) + b".well-known" + bytes([0x04]) + b"core"
    deadline = time.monotonic() + 60
    mid = 0
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        # Bursts until the limit shows: on a loaded machine the device may take in one
        # burst more slowly than its sustained rate, and then rightly answers them all.
        while "4.29" not in codes and time.monotonic() < deadline:
            for _ in range(400):
                s.sendto(coap(1, 0x01, mid, b"\x07", wkc), dev.udp)
                mid = (mid + 1) & 0xFFFF
            s.settimeout(2)
            while True:
                try:
                    reply, _ = s.recvfrom(4096)
                except TimeoutError:
                    break
                codes.append(response_code(reply))
                if response_code(reply) == "4.29":
                    assert b"\xff" in reply  # problem details payload
    assert "2.05" in codes and "4.29" in codes, sorted(set(codes))
