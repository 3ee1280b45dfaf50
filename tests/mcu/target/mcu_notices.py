"""Every notice vector through the real intake on the Cortex-M target: CoAP datagram (Block1
for large ones) -> verify, decode -> store on littlefs -> receipt; the receipt vectors
byte for byte. Data from the host (tests/mcu/test_mcu.py): /rom/vectors.json, the COSE
bytes of notice case i in /rom/nI.bin and of receipt case i in /rom/rI.bin."""
import gc
import hashlib
import json
from binascii import hexlify, unhexlify

from mcu_device import Device
from mcu_runner import eq


def _read(name):
    with open("/rom/" + name, "rb") as f:
        return f.read()


async def scenario(report):
    V = json.loads(_read("vectors.json"))
    dev = Device(provisioning={"dev": V["device_id"], "trust": V["trust"]},
                 clock_at=V["now"], rtc_trusted=False,
                 device_seed=unhexlify(V["device_private_seed"]))
    await dev.start()
    app = dev.app
    from meldbox.core import cose, receipts
    state = {"seq": 0, "head": receipts.ZERO_HASH}

    def device_key():
        eq(hexlify(app.signing_key.public).decode(), V["device_public_key"], "device key")

    await report.check("device key from the provisioned seed", device_key)

    def check_receipt(raw_receipt, case_fields):
        got = receipts.decode(raw_receipt)
        for name, value in case_fields.items():
            eq(got.get(name), value, name)
        assert cose.verify(cose.decode_sign1(raw_receipt), app.signing_key.public)

    # The receipt vectors: seq 1 is the minimal notice taken in over CoAP at NTP time
    # `at`; seq 2-4 are the panel's records (Ledger.record, as the panel calls it).
    for i, case in enumerate(V["receipts"]):
        async def one(i=i, case=case):
            f = case["fields"]
            dev.board.sync_ntp(f["at"])
            if i == 0:
                code, payload = await dev.request(_read("n%d.bin" % V["minimal"]))
                eq(code, "2.01", "code")
            else:
                fields = dict(f)
                for name in case["bytes_fields"]:
                    fields[name] = unhexlify(fields[name])
                payload = app.ledger.record(f["kind"], iss=f["iss"], nid=fields["nid"],
                                            nh=fields["nh"], note=f.get("note"))[1]
            eq(hexlify(payload).decode(), hexlify(_read("r%d.bin" % i)).decode(), "receipt")
            state["seq"] = f["seq"]
            state["head"] = receipts.chain_hash(payload)
        await report.check("receipt seq %d %s (byte-exact)" % (case["fields"]["seq"],
                                                                case["fields"]["kind"]), one)

    for i, case in enumerate(V["notices"]):
        async def one(i=i, case=case):
            raw = _read("n%d.bin" % i)
            dev.board.sync_ntp(V["now"])        # each case is checked at `now`
            code, payload = await dev.request(raw)
            if case["verdict"] == "accept":
                eq(code, case["intake_code"], "code")
                got = receipts.decode(payload)
                if i == V["minimal"]:               # taken in before: the same receipt
                    eq(payload, _read("r0.bin"), "stored receipt")
                    return
                state["seq"] += 1
                eq(got["seq"], state["seq"], "seq")
                eq(got["prev"], state["head"], "prev")
                eq(got["kind"], case["kind"], "kind")
                if case["kind"] != "status":
                    eq(got["nh"], hashlib.sha256(raw).digest(), "nh")
                state["head"] = receipts.chain_hash(payload)
                check_receipt(payload, {"dev": V["device_id"]})
            else:
                if code != case["code"]:
                    raise AssertionError("%s != %s, problem details %s"
                                         % (code, case["code"], hexlify(payload)))
                eq(app.store.seq, state["seq"], "seq after a refusal")
            gc.collect()
        await report.check("notice: %s (%s)" % (case["name"], case.get("code") or "accept"), one)

    def stored():
        # every accepted message is on littlefs, findable by issuer and id
        eq(app.store.seq, state["seq"], "seq")
        import os
        assert os.statvfs("/flash")[3] < os.statvfs("/flash")[2]
    await report.check("store holds the chain after all vectors", stored)
    dev.stop()
