"""2000 datagrams from `meldbox fuzz` (scapy-built malformed CoAP, mutated COSE/CBOR,
validly signed notices with bad claims) against a real simulated device: afterwards it
still answers, its receipt chain has not moved, and a valid notice is accepted."""

import pytest

from meldbox_host.wire import fuzz
from tests.host.e2e import DEV, protocol, run_client, send, status

pytestmark = pytest.mark.slow


def test_2000_fuzz_datagrams_change_nothing(hotline, devices):
    dev = devices(hotline)

    async def before(ctx):
        ok, _ = hotline.notice()
        assert (await send(ctx, dev, ok)).code == "2.01"
        return await status(ctx, dev)

    head = run_client(before)

    cases = fuzz.generate(seed=7, count=2000, key=hotline.key, aud=DEV)
    assert len(cases) == 2000
    target = fuzz.parse_target("127.0.0.1:%d" % dev.udp[1])
    report = fuzz.run_fuzz(target, cases, rate=100, wait=0.3, max_seconds=300)
    assert report["sent"] == 2000
    assert report["alive_before"] and report["alive_after"]
    assert report["accepted"] == [], report["accepted"][:10]
    assert dev.proc.poll() is None, "the device died"
    # the signed notices with bad claims were refused for their claims, not dropped; on a
    # loaded machine a verify may outlast the fuzzer's 0.3 s wait (silence, or an empty
    # ACK before a separate response): those are asked again, with time to answer
    signed = [
        (case, outcome["outcome"])
        for case, outcome in zip(cases, report["cases"])
        if fuzz.mutation_class(case[0]) == "signed-bad-claims"
    ]
    assert signed
    late = [case for case, outcome in signed if outcome in ("silence", "ACK")]
    again = fuzz.run_fuzz(target, late, rate=10, wait=5.0, max_seconds=300) if late else None
    outcomes = {o for _, o in signed if o not in ("silence", "ACK")}
    outcomes |= {c["outcome"] for c in again["cases"]} if again else set()
    assert outcomes <= {"4.00", "4.03", "4.29"}, outcomes

    async def after(ctx):
        st = await status(ctx, dev)
        assert st["prev"] == head["prev"], "fuzzing moved the receipt chain"
        ok, _ = hotline.notice()
        reply = await send(ctx, dev, ok)
        assert reply.code == "2.01"
        assert protocol.verify_receipt(reply.payload, dev.device_key)["seq"] == 2

    run_client(after)
