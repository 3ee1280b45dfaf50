"""CoAP transport costs on MicroPython: the codec, one request through the endpoint
(in memory, and over loopback UDP), a 6 KiB Block1 transfer, and heap bytes allocated
per request (the GC's work). Prints @@BENCH lines (bench/run.py)."""
import asyncio
import json
import socket
import time

import micropython

from meldbox.coap import message as m
from meldbox.coap.endpoint import Endpoint
from meldbox.coap.resource import Response

ROUNDS = 7


def bench(name, value, unit, note=""):
    print("@@BENCH", json.dumps({"name": name, "value": value, "unit": unit, "note": note}))


def median(values):
    values = sorted(values)
    return values[len(values) // 2]


class Memory:
    pollable = None

    def __init__(self):
        self.sent = 0

    def recv(self, limit):
        return None

    def sendto(self, data, peer):
        self.sent += 1


class Echo:
    methods = ("POST",)

    async def handle(self, request):
        return Response(m.CHANGED, b"receipt" * 40, 18)


def notice_request(mid, payload_len=700, block=None):
    msg = m.Message(m.CON, m.POST, mid & 0xFFFF, b"\x01\x02\x03\x04").add(m.URI_PATH, "notices")
    msg.add(m.CONTENT_FORMAT, 18)
    if block is not None:
        msg.add(m.BLOCK1, block)
    msg.payload = bytes(payload_len)
    return msg.encode()


def codec():
    wire = notice_request(1)
    n = 2000
    runs = []
    for _ in range(ROUNDS):
        t0 = time.ticks_us()
        for _ in range(n):
            m.decode(memoryview(wire)).encode()
        runs.append(time.ticks_diff(time.ticks_us(), t0) / n)
    bench("coap decode+encode, 700-byte notice POST", median(runs), "us")


async def through_endpoint(ep, datagrams, peer):
    for d in datagrams:
        ep.datagram(d, peer)
        await asyncio.sleep_ms(0)     # the handler task runs here


async def numbered(ep, template, n, first_mid, peer):
    """n requests from one template with message ids first_mid...; the bytes() copy
    stands for the datagram recvfrom allocates."""
    for i in range(n):
        mid = (first_mid + i) & 0xFFFF
        template[2] = mid >> 8
        template[3] = mid & 0xFF
        ep.datagram(bytes(template), peer)
        await asyncio.sleep_ms(0)     # the handler task runs here


def endpoint_requests():
    n = 500
    runs, allocs = [], []
    template = bytearray(notice_request(0))
    for r in range(ROUNDS):
        ep = Endpoint(Memory(), {"/notices": Echo()}, rate=None)
        a0 = micropython.mem_total()
        t0 = time.ticks_us()
        asyncio.run(numbered(ep, template, n, r * n, b"peer"))
        runs.append(time.ticks_diff(time.ticks_us(), t0) / n)
        allocs.append((micropython.mem_total() - a0) // n)
        assert ep.transport.sent == n
    bench("CON POST handled (piggybacked 2.04), in memory", median(runs), "us",
          "parse, dedup, route, handler task, encode, cache")
    bench("heap allocated per request", median(allocs), "bytes",
          "incl. the 720-byte datagram and 300-byte response; garbage for the GC")


def block1_transfer():
    body = bytes(6144)
    runs = []
    mid = 0
    for _ in range(ROUNDS * 3):
        ep = Endpoint(Memory(), {"/notices": Echo()}, rate=None)
        datagrams = []
        for num in range(6):
            msg = m.Message(m.CON, m.POST, mid, b"\x01\x02").add(m.URI_PATH, "notices")
            msg.add(m.CONTENT_FORMAT, 18).add(m.BLOCK1, m.block_value(num, num < 5, 6))
            msg.payload = body[num * 1024:(num + 1) * 1024]
            datagrams.append(msg.encode())
            mid += 1
        t0 = time.ticks_us()
        asyncio.run(through_endpoint(ep, datagrams, b"peer"))
        runs.append(time.ticks_diff(time.ticks_us(), t0))
        assert ep.transport.sent == 6
    bench("6 KiB Block1 transfer (6 blocks) through the endpoint", median(runs) / 1000, "ms")


def udp_socket(port=0):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(socket.getaddrinfo("127.0.0.1", port)[0][-1])
    s.setblocking(False)
    return s


def bound_somewhere():
    """A socket on a known port (MicroPython's socket has no getsockname())."""
    for port in range(47000, 47200):
        try:
            return udp_socket(port), socket.getaddrinfo("127.0.0.1", port)[0][-1]
        except OSError:
            pass
    raise RuntimeError("no free port in 47000-47199")


async def loopback_round_trips():
    """One process, two endpoints on loopback: the client's CON POST and its ACK."""
    server_sock, addr = bound_somewhere()
    server = Endpoint(server_sock, {"/notices": Echo()}, rate=None)
    client = Endpoint(udp_socket(), {}, rate=None)
    tasks = [asyncio.create_task(server.run()), asyncio.create_task(client.run())]
    times = []
    for _ in range(300):
        t0 = time.ticks_us()
        resp = await client.request(bytes(addr), "POST", "/notices", bytes(700), 18)
        times.append(time.ticks_diff(time.ticks_us(), t0))
        assert resp.code == m.CHANGED
    for t in tasks:
        t.cancel()
    bench("CON POST round trip over loopback UDP", median(times) / 1000, "ms",
          "both endpoints in one MicroPython process (asyncio I/O queue, no polling)")


codec()
endpoint_requests()
block1_transfer()
asyncio.run(loopback_round_trips())
