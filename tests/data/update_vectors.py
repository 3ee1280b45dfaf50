"""Recompute the derived parts of notices.json after a wire change (PROTOCOL.md 2, 4):
every accepted notice's `nh`, and the receipts' `nh`, `prev` chain and exact COSE bytes,
signed with pycose and cryptography (Ed25519 is deterministic, so the firmware must
reproduce them byte for byte: tests/firmware/mptest_vectors.py). Run from the repo root:
    .venv/bin/python tests/data/update_vectors.py
"""

import json
from pathlib import Path

import cbor2

from meldbox_host import protocol

PATH = Path(__file__).with_name("notices.json")


def rewrapped(cose, unprotected, tagged):
    parts = cbor2.loads(cose).value
    parts[1] = unprotected
    return cbor2.dumps(cbor2.CBORTag(18, parts) if tagged else parts)


def main():
    v = json.loads(PATH.read_text())
    minimal = next(c for c in v["notices"] if c["name"] == "minimal notice")
    cose = bytes.fromhex(minimal["cose"])
    kid = cbor2.loads(cose).value[1][4]
    added = [
        (
            "minimal notice re-wrapped: untagged",
            rewrapped(cose, {4: kid}, False),
            None,
            "the tag is not signed: same nh as the minimal notice",
        ),
        (
            "unprotected header with a padding label",
            rewrapped(cose, {4: kid, 99: b"\0" * 4000}, True),
            "4.00",
            "only kid (label 4) may be unprotected; the signature still verifies",
        ),
        (
            "unprotected kid of 17 bytes",
            rewrapped(cose, {4: kid + b"\0" * 9}, True),
            "4.00",
            "an unprotected kid is 1 to 16 bytes",
        ),
    ]
    names = {c["name"] for c in v["notices"]}
    for name, raw, code, note in added:
        if name not in names:
            case = {
                "name": name,
                "cose": raw.hex(),
                "verdict": "reject" if code else "accept",
                "note": note,
            }
            if code:
                case["code"] = code
            v["notices"].insert(-2, case)
    for case in v["notices"]:
        case.pop("nh", None)
        if case["verdict"] == "accept":
            case["nh"] = protocol.notice_hash(bytes.fromhex(case["cose"])).hex()
    seed = bytes.fromhex(v["device_private_seed"])
    if not any(c["fields"]["kind"] == "checkpoint" for c in v["receipts"]):
        last = v["receipts"][-1]["fields"]
        v["receipts"].append(
            {
                "fields": {
                    "v": 1,
                    "t": "receipt",
                    "dev": last["dev"],
                    "seq": last["seq"] + 1,
                    "prev": "",
                    "kind": "checkpoint",
                    "pseq": 2,
                    "ph": "",
                    "at": last["at"] + 91 * 86400,
                    "clock": "ntp",
                },
                "bytes_fields": ["prev", "ph"],
                "note": "receipts up to seq 2 pruned (PROTOCOL.md 4, retention and checkpoints)",
            }
        )
    prev = bytes(32)
    signed_by_seq = {}
    for case in v["receipts"]:
        f = case["fields"]
        f["prev"] = prev.hex()
        if f["kind"] == "checkpoint":
            f["ph"] = protocol.chain_hash(signed_by_seq[f["pseq"]]).hex()
        else:
            f["nh"] = protocol.notice_hash(cose).hex()
        fields = {k: (bytes.fromhex(x) if k in case["bytes_fields"] else x) for k, x in f.items()}
        signed = protocol.sign(fields, seed)
        case["cose"] = signed.hex()
        signed_by_seq[f["seq"]] = signed
        prev = protocol.chain_hash(signed)
    PATH.write_text(json.dumps(v, indent=1) + "\n")


if __name__ == "__main__":
    main()
