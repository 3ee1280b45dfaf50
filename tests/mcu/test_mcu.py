"""The firmware on a 32-bit Cortex-M core: MicroPython's bare-metal ports/qemu image
(firmware/build_mcu.py, built by `make test-mcu` / `make test`) under qemu-system-arm.

Each on-target scenario (tests/mcu/target/mcu_*.py) runs once in a fresh QEMU; every check
it makes is reported here as its own test, by name, with the on-target traceback when it
fails. The host prepares the data (vectors, notices, golden-image hashes) as a ROMFS image.
"""

import hashlib
import json
import re
from binascii import unhexlify
from pathlib import Path

import pytest

from tests.conftest import parse_results
from tests.mcu import qemu

# Needs the Cortex-M image (`make test` and `make test-mcu` build it): not in `make test-fast`.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
VECTORS = json.loads((ROOT / "tests" / "data" / "notices.json").read_text())
INTAKE_CODE = {"notice": "2.01", "withdraw": "2.04", "ping": "2.04"}
RECEIPT_KIND = {"notice": "delivered", "withdraw": "withdrawn", "ping": "status"}
_runs = {}


def run_scenario(tmp_path_factory, module, data, flash=None):
    """Run a scenario once per session; returns (results by name, output)."""
    key = (module, flash)
    if key not in _runs:
        work = tmp_path_factory.mktemp(module)
        image = qemu.romfs(qemu.target_files("mcu_device", module, data=data), work / "data.romfs")
        target = qemu.Qemu(image, flash=flash, workdir=work)
        try:
            out, err = target.run(qemu.boot_code(module), timeout=900)
        finally:
            target.close()
        _runs[key] = (parse_results(out), out + err)
    return _runs[key]


def result(results, output, name):
    if name not in results:
        pytest.fail(
            "the target did not report %r; its output ends:\n%s" % (name, output[-4000:]),
            pytrace=False,
        )
    ok, trace = results[name]
    if not ok:
        pytest.fail("on the target:\n" + trace, pytrace=False)


# --- notice vectors through the intake -------------------------------------------------------------  # noqa: E501
def _message_type(cose_hex):
    import cbor2

    obj = cbor2.loads(unhexlify(cose_hex))
    obj = getattr(obj, "value", obj)
    return cbor2.loads(obj[2])["t"]


def vectors_data():
    notices, data = [], {}
    minimal = None
    for i, case in enumerate(VECTORS["notices"]):
        entry = {"name": case["name"], "verdict": case["verdict"], "code": case.get("code")}
        if case["verdict"] == "accept":
            t = _message_type(case["cose"])
            entry["intake_code"] = INTAKE_CODE[t]
            entry["kind"] = RECEIPT_KIND[t]
            entry["nh"] = case["nh"]
        if case["name"] == "minimal notice":
            minimal = i
        notices.append(entry)
        data["n%d.bin" % i] = unhexlify(case["cose"])
    for i, case in enumerate(VECTORS["receipts"]):
        data["r%d.bin" % i] = unhexlify(case["cose"])
    meta = {
        k: VECTORS[k]
        for k in ("now", "device_id", "trust", "device_private_seed", "device_public_key")
    }
    meta["notices"] = notices
    meta["minimal"] = minimal
    meta["receipts"] = [
        {"fields": c["fields"], "bytes_fields": c["bytes_fields"]} for c in VECTORS["receipts"]
    ]
    data["vectors.json"] = json.dumps(meta).encode()
    return data


NOTICE_CHECKS = (
    ["device key from the provisioned seed"]
    + [
        "receipt seq %d %s (byte-exact)" % (c["fields"]["seq"], c["fields"]["kind"])
        for c in VECTORS["receipts"]
    ]
    + ["notice: %s (%s)" % (c["name"], c.get("code") or "accept") for c in VECTORS["notices"]]
    + ["store holds the chain after all vectors"]
)


@pytest.mark.parametrize("name", NOTICE_CHECKS)
def test_notice_vectors(tmp_path_factory, name):
    results, output = run_scenario(tmp_path_factory, "mcu_notices", vectors_data())
    result(results, output, name)


# --- golden screens ------------------------------------------------------------------------------
GOLDEN = ROOT / "tests" / "golden"
RECEIPT_PEER = ["10.0.0.9", 40001]


def panel_hash(png):
    """SHA-256 of the big-endian RGB565 pixels the golden PNG was made from."""
    from PIL import Image

    img = Image.open(png).convert("RGB")
    out = bytearray()
    for r, g, b in img.get_flattened_data():
        v = ((r >> 3) << 11) | ((g >> 2) << 5) | (b >> 3)
        out += bytes((v >> 8, v & 0xFF))
    return hashlib.sha256(out).hexdigest()


def panel_data():
    """The first screens of test_panel_golden.py's main flow, as steps for the target."""
    from tests.host.e2e import DEV
    from tests.host.golden import ATKM, EOKM, HOUR, T0, forged_notice, list_batch, notice

    data, steps = {}, []

    def post(cose, code):
        name = "p%d.bin" % len(data)
        data[name] = cose
        steps.append(["post", name, code])

    def screen(name):
        steps.append(["screen", name, panel_hash(GOLDEN / (name + ".png"))])

    screen("list-empty")
    post(notice(EOKM, 1, ref="EOKM-2027-00001", due=T0 + 5 * HOUR)[0], "2.01")
    steps += [["press", "A", 100], ["advance", 5]]
    screen("list-one")
    for cose in list_batch():
        post(cose, "2.01")
    post(forged_notice(), "4.01")
    steps += [["press", "A", 100], ["advance", 60]]
    screen("list-many")
    receipts = "coap://%s:%d/receipts" % tuple(RECEIPT_PEER)
    meta = {
        "clock_at": T0,
        "receipt_peer": RECEIPT_PEER,
        "steps": steps,
        "provisioning": {
            "dev": DEV,
            "receipts": {EOKM.iss: receipts},
            "trust": [
                {"iss": EOKM.iss, "key": EOKM.public.hex()},
                {"iss": ATKM.iss, "key": ATKM.public.hex(), "not_after": T0 + 20 * 86400},
            ],
        },
    }
    data["panel.json"] = json.dumps(meta).encode()
    return data


PANEL_CHECKS = (
    ["screen list-empty", "post p0.bin", "screen list-one"]
    + ["post p%d.bin" % i for i in range(1, 10)]
    + ["screen list-many"]
)


@pytest.mark.parametrize("name", PANEL_CHECKS)
def test_golden_screens(tmp_path_factory, name):
    results, output = run_scenario(tmp_path_factory, "mcu_panel", panel_data())
    result(results, output, name)


# --- notice -> receipt flow: dedup, Block1, outbox -------------------------------------------------  # noqa: E501
def _keys_and_notice():
    from tests.host.golden import ATKM, EOKM, HOUR, T0, notice

    return ATKM, EOKM, HOUR, T0, notice


def _provisioning(with_receipts=True):
    from tests.host.e2e import DEV

    ATKM, EOKM, HOUR, T0, notice = _keys_and_notice()
    prov = {"dev": DEV, "trust": [{"iss": EOKM.iss, "key": EOKM.public.hex()}]}
    if with_receipts:
        prov["receipts"] = {EOKM.iss: "coap://%s:%d/receipts" % tuple(RECEIPT_PEER)}
    return prov


def flow_data():
    ATKM, EOKM, HOUR, T0, notice = _keys_and_notice()
    urls = ["https://files.example.net/u/%d/%s.jpg" % (i, "x" * 80) for i in range(60)]
    large = notice(EOKM, 31, ref="EOKM-2027-BIG", due=T0 + HOUR, urls=urls)[0]
    assert 4096 < len(large) <= 8192
    meta = {"clock_at": T0, "receipt_peer": RECEIPT_PEER, "provisioning": _provisioning()}
    return {
        "flow.json": json.dumps(meta).encode(),
        "large.bin": large,
        "small.bin": notice(EOKM, 30, ref="EOKM-2027-SMALL", due=T0 + HOUR)[0],
    }


FLOW_CHECKS = [
    "duplicate CON gets the same answer and changes nothing",
    "notice over Block1 taken in",
    "receipts delivered to the hotline's endpoint",
]


@pytest.mark.parametrize("name", FLOW_CHECKS)
def test_flow(tmp_path_factory, name):
    results, output = run_scenario(tmp_path_factory, "mcu_flow", flow_data())
    result(results, output, name)


# --- power cut at a flash write ----------------------------------------------------------------------  # noqa: E501
RECEIPT_RE = re.compile(r"@@RECEIPT_A ([0-9a-f]+)")


def cut_data(cut_after):
    ATKM, EOKM, HOUR, T0, notice = _keys_and_notice()
    meta = {"clock_at": T0, "cut_after": cut_after, "provisioning": _provisioning(False)}
    data = {"cut.json": json.dumps(meta).encode()}
    for n, name in ((41, "a"), (42, "b"), (43, "c")):
        data[name + ".bin"] = notice(EOKM, n, ref="EOKM-CUT-%d" % n, due=T0 + HOUR)[0]
    return data


@pytest.mark.parametrize("cut_after", [1, 3, 6])
def test_power_cut_at_a_flash_write(tmp_path, cut_after):
    data = cut_data(cut_after)
    image = qemu.romfs(
        qemu.target_files("mcu_device", "mcu_cut", data=data), tmp_path / "cut.romfs"
    )
    target = qemu.Qemu(image, workdir=tmp_path)
    flash = tmp_path / "flash.bin"
    try:
        target.start(qemu.boot_code("mcu_cut"))
        before = target.read_until(b"@@CUT", 600).decode(errors="replace")
        target.save_flash(flash)
    finally:
        target.close()
    assert "@@NO_CUT" not in before, before
    results = parse_results(before.replace("\r\n", "\n"))
    result(results, before, "notice A acknowledged before the cut")
    data["receipt_a.bin"] = unhexlify(RECEIPT_RE.search(before).group(1))
    image = qemu.romfs(
        qemu.target_files("mcu_device", "mcu_recover", data=data), tmp_path / "recover.romfs"
    )
    target = qemu.Qemu(image, flash=flash, workdir=tmp_path)
    try:
        out, err = target.run(qemu.boot_code("mcu_recover"), timeout=600)
    finally:
        target.close()
    results = parse_results(out)
    for name in (
        "acknowledged notice survives the cut",
        "notice cut mid-write is whole or absent, chain intact",
        "intake goes on after the cut",
    ):
        result(results, out + err, name)
