"""MicroPython script: the CoAP endpoint on 127.0.0.1 (a free port) with test resources,
driven by tests/host/test_coap_endpoint.py. It lives in tests/mp/ with the other
MicroPython-side helpers, where lint applies MicroPython rules (no CPython-only rewrites).

Usage: micropython coap_test_server.py ANNOUNCE_PORT [--rate BURST,PER_S]
       [--ack-timeout-ms N] [--max-retransmit N]
MicroPython's socket has no getsockname(), so the server tells its port by sending one
datagram from the endpoint's own socket to 127.0.0.1:ANNOUNCE_PORT.
"""

import asyncio
import gc
import hashlib
import json
import socket
import sys
import time
from binascii import hexlify, unhexlify

from meldbox.coap import uri as coap_uri
from meldbox.coap.client import Reset
from meldbox.coap.endpoint import Endpoint
from meldbox.coap.message import CF_JSON, CF_TEXT, CHANGED, CONTENT, CONTENT_FORMAT
from meldbox.coap.resource import Response
from meldbox.core import errors

ANNOUNCE = b"meldbox-coap-test-server"
BIG = bytes(i * 7 & 0xFF for i in range(3000))


class Echo:
    """Describes the request it got: body length and SHA-256, Content-Format, query."""

    methods = ("POST", "PUT")
    link = ";ct=50"

    async def handle(self, request):
        info = {
            "len": len(request.payload),
            "method": request.method,
            "sha256": hexlify(hashlib.sha256(request.payload).digest()).decode(),
            "cf": request.content_format,
            "query": request.query,
        }
        return Response(CHANGED, json.dumps(info).encode(), CF_JSON)


class Count:
    """POST counts a call; GET tells the count (proves a duplicate did not run twice)."""

    methods = ("GET", "POST")
    link = ";ct=0"

    def __init__(self):
        self.n = 0

    async def handle(self, request):
        if request.method == "POST":
            self.n += 1
            return Response(CHANGED, str(self.n).encode(), CF_TEXT)
        return Response(CONTENT, str(self.n).encode(), CF_TEXT)


class Slow:
    methods = ("GET",)
    link = ";ct=0"

    def slow(self, request):
        return True

    async def handle(self, request):
        await asyncio.sleep_ms(300)
        return Response(CONTENT, b"slow done", CF_TEXT)


class Forbidden:
    methods = ("POST",)

    async def handle(self, request):
        raise errors.Forbidden("wrong-device", "aud names another device")


class Crash:
    methods = ("POST",)

    async def handle(self, request):
        raise ValueError("a bug in a handler")


class Big:
    methods = ("GET",)
    link = ";ct=42"

    async def handle(self, request):
        return Response(CONTENT, BIG, 42)


class Send:
    """POST {"uri", "payload" (hex), "cf"}: the endpoint sends that CON request itself and
    answers, separately, with what came of it."""

    methods = ("POST",)

    def __init__(self):
        self.endpoint = None

    def slow(self, request):
        return True

    async def handle(self, request):
        job = json.loads(request.payload)
        host, port, path = coap_uri.parse(job["uri"])
        peer = coap_uri.resolve(host, port)
        client = self.endpoint.client
        before = client.retransmissions
        t0 = time.ticks_ms()
        out = {}
        try:
            resp = await client.request(
                peer, "POST", path, unhexlify(job["payload"]), job.get("cf")
            )
            out = {
                "code": resp.code,
                "payload": hexlify(resp.payload).decode(),
                "cf": resp.uint(CONTENT_FORMAT),
            }
        except asyncio.TimeoutError:  # MicroPython has no builtin TimeoutError
            out = {"error": "timeout"}
        except Reset:
            out = {"error": "reset"}
        out["retransmissions"] = client.retransmissions - before
        out["elapsed_ms"] = time.ticks_diff(time.ticks_ms(), t0)
        out["pending"] = len(client.awaiting_ack) + len(client.awaiting_response)
        return Response(CHANGED, json.dumps(out).encode(), CF_JSON)


class Stats:
    methods = ("GET",)

    def __init__(self):
        self.endpoint = None

    async def handle(self, request):
        ep = self.endpoint
        info = dict(ep.stats)
        info["dedup"] = len(ep.dedup)
        info["reassembly"] = len(ep.blocks)
        info["rate_peers"] = len(ep.rate.table) if ep.rate else 0
        info["inflight"] = ep.inflight - 1  # this request
        info["mem_free"] = gc.mem_free()
        return Response(CONTENT, json.dumps(info).encode(), CF_JSON)


def option(args, name, default):
    return args[args.index(name) + 1] if name in args else default


def main(args):
    announce_port = int(args[0])
    burst, per_s = option(args, "--rate", "30,5").split(",")
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(socket.getaddrinfo("127.0.0.1", 0)[0][-1])
    sock.setblocking(False)
    send, stats = Send(), Stats()
    resources = {
        "/echo": Echo(),
        "/count": Count(),
        "/slow": Slow(),
        "/forbidden": Forbidden(),
        "/crash": Crash(),
        "/big": Big(),
        "/send": send,
        "/stats": stats,
    }
    endpoint = Endpoint(
        sock,
        resources,
        rate=(int(burst), int(per_s)),
        ack_timeout_ms=int(option(args, "--ack-timeout-ms", "2000")),
        max_retransmit=int(option(args, "--max-retransmit", "4")),
        separate_timeout_ms=5000,
    )
    send.endpoint = stats.endpoint = endpoint
    sock.sendto(ANNOUNCE, socket.getaddrinfo("127.0.0.1", announce_port)[0][-1])
    print("ready")
    asyncio.run(endpoint.run())


main(sys.argv[1:])
