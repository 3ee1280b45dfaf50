"""Intake under a flood of forged notices (issue 10): 1,000 bad signatures a second from
50 source ports, under kids rotating over three trusted keys (each bad signature costs a
full verify), while a trusted issuer sends one valid notice after another from another
address. Reports the valid notices' latency (median, p95) and how the device answered the
flood (most of it is dropped by the per-address rate limit before any crypto)."""
import asyncio
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiocoap  # noqa: E402

from bench.hostbench import emit  # noqa: E402
from tests.host.attacker import POST, Issuer, request  # noqa: E402
from tests.host.simdevice import SimDevice  # noqa: E402

DEV = "nl.hoster-a.desk-1"
FLOOD_PER_S = 1000
PORTS = 50
VALID = 60
ATTACKER = "127.0.0.9"


class Flood(threading.Thread):
    def __init__(self, target, issuers):
        super().__init__(daemon=True)
        self.target = target
        self.stop = threading.Event()
        self.sent = 0
        self.answers = 0
        forged = []
        for i, iss in enumerate(issuers * 4):     # real kids, wrong signatures
            cose = bytearray(iss.sign(iss.claims("notice", DEV)))
            cose[-1] ^= 1
            forged.append(bytes(cose))
        self.forged = forged

    def run(self):
        socks = []
        for _ in range(PORTS):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind((ATTACKER, 0))
            s.setblocking(False)
            socks.append(s)
        t0 = time.monotonic()
        while not self.stop.is_set():
            s = socks[self.sent % PORTS]
            cose = self.forged[self.sent % len(self.forged)]
            s.sendto(request(POST, "/notices", self.sent & 0xFFFF, b"f", cose, 18), self.target)
            self.sent += 1
            for r in socks[:5]:
                try:
                    while r.recv(2048):
                        self.answers += 1
                except OSError:
                    pass
            ahead = self.sent / FLOOD_PER_S - (time.monotonic() - t0)
            if ahead > 0:
                time.sleep(ahead)
        for s in socks:
            s.close()


async def valid_notices(dev, issuer):
    ctx = await aiocoap.Context.create_client_context(transports=["udp6"])
    latencies, codes = [], []
    try:
        for _ in range(VALID):
            msg = aiocoap.Message(code=aiocoap.POST, uri="coap://%s:%d/notices" % dev.udp,
                                  payload=issuer.sign(issuer.claims("notice", DEV)))
            msg.opt.content_format = 18
            t0 = time.perf_counter()
            resp = await asyncio.wait_for(ctx.request(msg).response, 60)
            latencies.append(time.perf_counter() - t0)
            codes.append(str(resp.code))
            await asyncio.sleep(0.2)
    finally:
        await ctx.shutdown()
    return latencies, codes


def main():
    issuers = [Issuer("nl.i%d" % i) for i in range(3)]
    with tempfile.TemporaryDirectory() as tmp:
        flags = ["--device-id", DEV]
        for iss in issuers:
            flags += ["--trust", iss.trust_flag()]
        dev = SimDevice(Path(tmp) / "dev", *flags)
        dev.start()
        try:
            flood = Flood(dev.udp, issuers)
            flood.start()
            time.sleep(2)
            t0 = time.monotonic()
            latencies, codes = asyncio.run(valid_notices(dev, issuers[0]))
            elapsed = time.monotonic() - t0
            flood.stop.set()
            flood.join(5)
        finally:
            dev.stop()
    ok = codes.count("2.01 Created")
    lat = sorted(latencies)
    emit("flood: valid notices answered 2.01", ok, "of %d" % VALID,
         "others: %s" % sorted(set(codes) - {"2.01 Created"}))
    emit("flood: valid notice latency", statistics.median(lat) * 1000, "ms", "median")
    emit("flood: valid notice latency p95", lat[int(0.95 * len(lat))] * 1000, "ms",
         "target: 2000 ms")
    emit("flood: forged notices sent", flood.sent / elapsed, "per s",
         "%d source ports of one address, kids rotating over 3 trusted keys" % PORTS)


if __name__ == "__main__":
    main()
