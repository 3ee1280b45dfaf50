"""Provisioning a real simulated device (`meldbox sim-device --serial-link PATH`) with
`meldbox device provision --port PATH`: the new issuer key waits for a press of A on the
panel (`meldbox sim-ctl press A`), then counts at once (a notice signed with it is taken
in) and after a reboot; B refuses it and nothing changes."""

import asyncio
import hashlib
import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.host.e2e import DEV, Hotline, client, send
from tests.host.simdevice import SimDevice

MELDBOX = Path(sys.executable).with_name("meldbox")
pytestmark = pytest.mark.slow


def fingerprint(key):
    h = hashlib.sha256(key).hexdigest()[:32]
    return " ".join(h[i : i + 4] for i in range(0, 32, 4))


def meldbox_device(port, *args):
    done = subprocess.run(
        [str(MELDBOX), "device"] + list(args) + ["--port", str(port)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done


def info(port):
    done = meldbox_device(port, "info", "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def start_provision(port, *args):
    return subprocess.Popen(
        [str(MELDBOX), "device", "provision", "--port", str(port)] + list(args),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_text(proc, text, timeout=30):
    """Read the tool's output (unbuffered, so that select() sees it all) until `text`
    appears: it asks for the press then. Returns what was read."""
    seen = ""
    deadline = time.monotonic() + timeout
    while text not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.5)
        if ready:
            chunk = os.read(proc.stdout.fileno(), 4096).decode()
            if not chunk:
                break
            seen += chunk
    assert text in seen, "no %r from meldbox device provision: %r" % (text, seen)
    return seen


def press_a_until_done(dev, proc, timeout=60):
    """Press A until the tool finishes: the panel scrolls with A until every change has been
    on screen, and only then applies (ui/screens/trust.py). Returns proc.communicate()."""
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        dev.ctl("press", "A")
        try:
            return proc.communicate(timeout=2)
        except subprocess.TimeoutExpired:
            pass
    return proc.communicate(timeout=5)


def notice_code(dev, hotline, **claims):
    """POST a notice signed by `hotline`, with no deadline and `claims` -> the answer's code."""

    async def go():
        ctx = await client()
        try:
            cose, _ = hotline.notice(due=None, **claims)
            return (await send(ctx, dev, cose)).code
        finally:
            await ctx.shutdown()

    return str(asyncio.run(go()))


def started(dev, port):
    """Start the device and wait (with a deadline) for its serial link to appear."""
    dev.start()
    deadline = time.monotonic() + 30
    while not port.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert port.exists(), "no serial link at %s" % port


def serial_device(tmp_path, *flags):
    """A device in tmp_path/dev with its serial link at tmp_path/ttyMELDBOX, started
    (see started()) -> (device, port)."""
    port = tmp_path / "ttyMELDBOX"
    dev = SimDevice(tmp_path / "dev", "--serial-link", str(port), *flags)
    started(dev, port)
    return dev, port


def test_new_issuer_key_counts_after_a_press_of_A_and_survives_a_reboot(tmp_path):
    hotline = Hotline()
    dev, port = serial_device(tmp_path)
    try:
        before = info(port)
        assert before["device_key"] == dev.ready["device_key"]
        assert before["fingerprint"] == fingerprint(dev.device_key)
        assert before["trust"] == []
        assert notice_code(dev, hotline) == "4.01"

        dev.ctl("snapshot", str(tmp_path / "before.png"))
        proc = start_provision(
            port, "--device-id", DEV, "--trust", hotline.trust_flag, "--lang", "nl"
        )
        seen = wait_for_text(proc, fingerprint(hotline.key.public))
        dev.ctl("snapshot", str(tmp_path / "asking.png"))
        assert (tmp_path / "asking.png").read_bytes() != (tmp_path / "before.png").read_bytes()
        assert notice_code(dev, hotline) == "4.01"  # not before the press
        out, err = press_a_until_done(dev, proc)
        assert proc.returncode == 0, seen + out + err
        assert "provisioned: dev, lang, trust" in seen + out

        after = info(port)
        assert after["dev"] == DEV and after["lang"] == "nl"
        assert after["trust"] == [
            {
                "iss": hotline.iss,
                "fingerprint": fingerprint(hotline.key.public),
                "not_after": None,
                "revoked": False,
            }
        ]
        assert notice_code(dev, hotline) == "2.01"  # in force without a restart
    finally:
        dev.stop()
    dev, port = serial_device(tmp_path)
    try:
        assert info(port)["trust"] == after["trust"]
        assert dev.ready["dev"] == DEV
    finally:
        dev.stop()


def test_new_issuer_key_refused_with_B_changes_nothing(tmp_path):
    hotline = Hotline()
    dev, port = serial_device(tmp_path)
    try:
        proc = start_provision(port, "--device-id", DEV, "--trust", hotline.trust_flag)
        wait_for_text(proc, fingerprint(hotline.key.public))
        assert notice_code(dev, hotline) == "4.01"  # not before the press
        dev.ctl("press", "B")
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 1
        assert "not-confirmed" in err
        now = info(port)
        assert (now["dev"], now["trust"]) == ("meldbox-unprovisioned", [])
        assert notice_code(dev, hotline) == "4.01"
    finally:
        dev.stop()


# --- a serial attacker: every change to trust, receipts, network or clock waits for A ----
T0 = 1800000000  # 2027-01-15 08:00 UTC, a frozen clock: reproducible panel
DAY = 86400
PENDING = "pending: press A on the device"


def refused_then_applied(dev, port, args, unchanged, changed, tmp_path=None, golden=None):
    """Run `meldbox device provision ARGS` twice: the first waits for the panel with
    nothing changed (`unchanged(asking=True)` holds: the tool holds the serial port then,
    so only the network is asked), B refuses it and still nothing changed; the second is
    applied after A (`changed()` holds). With `golden`, the panel asking is compared with
    tests/golden/GOLDEN.png."""
    for button in ("B", "A"):
        proc = start_provision(port, *args)
        seen = wait_for_text(proc, PENDING)
        unchanged(asking=True)  # held, not applied, while the panel asks
        if golden and button == "B":
            from tests.host.test_panel_golden import check

            check(dev, tmp_path, golden)
        if button == "B":
            dev.ctl("press", "B")
            out, err = proc.communicate(timeout=60)
        else:
            out, err = press_a_until_done(dev, proc)
        if button == "B":
            assert proc.returncode == 1, seen + out + err
            assert "not-confirmed" in err
            unchanged()
        else:
            assert proc.returncode == 0, seen + out + err
            changed()
    return seen


def test_serial_attacker_cannot_set_the_clock_back_to_revive_an_expired_key(tmp_path):
    hotline = Hotline()
    dev, port = serial_device(
        tmp_path,
        "--device-id",
        DEV,
        "--trust",
        "%s,not-after=%d" % (hotline.trust_flag, T0 - DAY),
        "--frozen-clock",
        "--clock-at",
        str(T0),
        "--rng-seed",
        "7",
    )

    def code():
        return notice_code(dev, hotline, iat=T0 - 3 * DAY)

    def unchanged(asking=False):
        if not asking:
            assert info(port)["clock"]["now"] == T0
        assert code() != "2.01"  # the key stays expired

    def changed():
        assert info(port)["clock"]["now"] == T0 - 2 * DAY
        assert code() == "2.01"  # what the press allowed

    try:
        unchanged()
        seen = refused_then_applied(
            dev,
            port,
            ["--time", str(T0 - 2 * DAY)],
            unchanged,
            changed,
            tmp_path,
            "provision-clock-back",
        )
        assert "time      set the clock to 2027-01-13 08:00:00 UTC" in seen
    finally:
        dev.stop()


def test_serial_attacker_cannot_rename_the_device_redirect_receipts_or_change_the_network(
    tmp_path,
):
    hotline = Hotline()
    dev, port = serial_device(tmp_path, "--device-id", DEV, "--trust", hotline.trust_flag)
    attacks = [
        (
            ["--receipts", "%s=coap://attacker.example/r" % hotline.iss],
            lambda i: i["receipts"].get(hotline.iss),
            None,
            "coap://attacker.example/r",
        ),
        (
            ["--ip", "192.0.2.66/24", "--gateway", "192.0.2.1", "--dns", "192.0.2.66"],
            lambda i: i["net"].get("dns"),
            None,
            "192.0.2.66",
        ),
        (["--device-id", "evil.desk"], lambda i: i["dev"], DEV, "evil.desk"),  # last: notices
    ]  # to DEV are refused after it
    try:
        for args, read, before, after in attacks:

            def unchanged(asking=False, read=read, before=before, args=args):
                if not asking:
                    assert read(info(port)) == before, args
                assert notice_code(dev, hotline) == "2.01"  # addressed to DEV: still taken in

            def changed(read=read, after=after, args=args):
                assert read(info(port)) == after, args

            refused_then_applied(dev, port, args, unchanged, changed)
    finally:
        dev.stop()


def test_language_and_time_zone_need_no_press(tmp_path):
    dev, port = serial_device(tmp_path)
    try:
        done = meldbox_device(port, "provision", "--lang", "nl", "--tz", "UTC")
        assert done.returncode == 0, done.stderr
        assert "provisioned: lang, tz" in done.stdout and PENDING not in done.stdout
        assert (info(port)["lang"], info(port)["tz"]) == ("nl", "UTC")
    finally:
        dev.stop()
