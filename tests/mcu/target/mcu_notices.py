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
            fields = dict(f)
            for name in case["bytes_fields"]:
                fields[name] = unhexlify(fields[name])
            if i == 0:
                code, payload = await dev.request(_read("n%d.bin" % V["minimal"]))
                eq(code, "2.01", "code")
            elif f["kind"] == "checkpoint":
                # built as the ledger builds it, not committed: a prune would follow it
                eq(fields["prev"], app.store.head_hash, "prev")
                key = app.signing_key
                payload = receipts.build(key, cose.kid_of(key.public), f["dev"], f["seq"],
                                         fields["prev"], "checkpoint", f["at"], f["clock"],
                                         pseq=f["pseq"], ph=fields["ph"])
            else:
                payload = app.ledger.record(f["kind"], iss=f["iss"], nid=fields["nid"],
                                            nh=fields["nh"], note=f.get("note"))[1]
            eq(hexlify(payload).decode(), hexlify(_read("r%d.bin" % i)).decode(), "receipt")
            if f["kind"] != "checkpoint":
                state["seq"] = f["seq"]
                state["head"] = receipts.chain_hash(payload)
        await report.check("receipt seq %d %s (byte-exact)" % (case["fields"]["seq"],
                                                                case["fields"]["kind"]), one)

    # SHA-256 of the receipts by the nh (PROTOCOL.md §2) of the message they answered
    # (digests, not the receipts: the 8192-byte notice needs the heap); the minimal notice
    # was taken in with receipt seq 1 above
    minimal_nh = unhexlify(V["notices"][V["minimal"]]["nh"])
    answered = {minimal_nh: hashlib.sha256(_read("r0.bin")).digest()}
    for i, case in enumerate(V["notices"]):
        async def one(i=i, case=case):
            dev.board.sync_ntp(V["now"])        # each case is checked at `now`
            with open("/rom/n%d.bin" % i, "rb") as raw:
                code, payload = await dev.request(raw)
            want = case["intake_code"] if case["verdict"] == "accept" else case["code"]
            if code != want:
                raise AssertionError("%s != %s, problem details %s"
                                     % (code, want, hexlify(payload)))
            if case["verdict"] == "accept":
                nh = unhexlify(case["nh"])
                if nh in answered:
                    # taken in before (also as a re-wrapped copy: same nh): the stored
                    # receipt byte for byte, no new seq
                    eq(hashlib.sha256(payload).digest(), answered[nh], "stored receipt SHA-256")
                    eq(app.store.seq, state["seq"], "seq after a repeat")
                    return
                got = receipts.decode(payload)
                eq(got["seq"], state["seq"] + 1, "seq")
                eq(got["prev"], state["head"], "prev")
                eq(got["kind"], case["kind"], "kind")
                if case["kind"] != "status":
                    eq(got["nh"], nh, "nh")
                check_receipt(payload, {"dev": V["device_id"]})
                state["seq"] = got["seq"]
                state["head"] = receipts.chain_hash(payload)
                answered[nh] = hashlib.sha256(payload).digest()
            else:
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
