"""The provisioning link end to end, short of the whole appliance: the host tool
(`meldbox device`, pyserial) talks through the simulator's pty relay (sim/serial_link.py)
to the firmware's framing and service running on MicroPython (boards/sim/serial.py).
The panel is played by this test, which reads what the device would show and answers
with a press. Also checks that the host's and the firmware's framing agree."""

import hashlib
import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest
import serial

from meldbox_host.provision import framing as host_framing
from meldbox_host.sim.serial_link import SerialLink
from tests.host import mphost

ROOT = Path(__file__).resolve().parents[2]
MICROPYTHON = Path(sys.executable).with_name("micropython")
MELDBOX = Path(sys.executable).with_name("meldbox")
KEY1 = bytes(range(32))
KEY2 = bytes(range(100, 132))


def fingerprint(key):
    h = hashlib.sha256(key).hexdigest()[:32]
    return " ".join(h[i : i + 4] for i in range(0, 32, 4))


# --- the two framings agree ----------------------------------------------------------------
BODIES = [b"", b"{}", '{"dev": "d\u00e9sk"}'.encode(), bytes(range(256)) * 8, b"x" * 2048]


def test_firmware_decodes_what_the_host_encodes():
    data = b"".join(host_framing.encode(b) for b in BODIES)
    out = mphost.run(
        "import sys\n"
        "from binascii import hexlify\n"
        "from meldbox.provision import framing\n"
        "data = open(sys.argv[1], 'rb').read()\n"
        "for body in framing.Decoder().feed(data):\n"
        "    print(hexlify(body).decode())\n",
        data=data,
    )
    assert [bytes.fromhex(line) for line in out.splitlines()] == BODIES


def test_host_decodes_what_the_firmware_encodes():
    data = b"".join(b"%d\n" % len(b) + b.hex().encode() + b"\n" for b in BODIES)
    out = mphost.run(
        "import sys\n"
        "from binascii import unhexlify\n"
        "from meldbox.provision import framing\n"
        "lines = open(sys.argv[1], 'rb').read().split(b'\\n')\n"
        "for i in range(0, len(lines) - 1, 2):\n"
        "    sys.stdout.buffer.write(framing.encode(unhexlify(lines[i + 1])))\n",
        data=data,
    )
    assert host_framing.Decoder().feed(out.encode()) == BODIES


def test_both_refuse_the_same_damaged_frames():
    good = host_framing.encode(b'{"id": 1, "op": "info"}')
    damaged = [
        good[:-5] + (b"0" if good[-5:-4] != b"0" else b"1") + good[-4:],  # CRC
        good[:20] + b"\n",  # truncated
        b"#00ff" + good[5:],  # wrong length
        b"#zz" + good[3:],
    ]  # not hex
    for line in damaged:
        assert all(
            isinstance(x, host_framing.FrameError) for x in host_framing.Decoder().feed(line)
        )
    out = mphost.run(
        "import sys\n"
        "from meldbox.provision import framing\n"
        "for item in framing.Decoder().feed(open(sys.argv[1], 'rb').read()):\n"
        "    print(item.reason if isinstance(item, Exception) else 'FRAME')\n",
        data=b"".join(damaged),
    )
    assert out.split() == ["frame-crc", "frame-truncated", "frame-truncated", "frame-encoding"]


# --- host tool <-> pty relay <-> firmware service on MicroPython -------------------------------
HARNESS = r'''
import asyncio, json, select, sys
from boards.sim.serial import open_link
from meldbox.provision.listener import Listener
from meldbox.provision.request import fingerprint
from provision_doubles import Device as Doubles


def say(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


class Device(Doubles):
    """The appliance as far as provisioning sees it; the panel is the test (stdin/stdout)."""
    def __init__(self):
        super().__init__()
        self.on_done = None

    def info(self):
        return {"dev": self.cfg["dev"], "time": self.times[-1] if self.times else None,
                "receipts": self.cfg["receipts"],
                "trust": [{"iss": e["iss"], "fingerprint": fingerprint(e["key"]), "revoked": e["revoked"]}
                          for e in self.cfg["trust"]]}

    def confirm(self, keys, on_done):
        self.on_done = on_done
        say({"event": "confirm", "keys": keys})

    def cancel_confirm(self):
        self.on_done = None
        say({"event": "cancel"})


async def panel(device):
    poller = select.poll()
    poller.register(sys.stdin, select.POLLIN)
    while True:
        if poller.poll(0):
            button = sys.stdin.readline().strip()
            if button == "?":       # the test asks what is configured right now
                say({"event": "state", "dev": device.cfg["dev"], "trust": len(device.cfg["trust"])})
            elif device.on_done is not None:
                device.on_done(button == "A")
                device.on_done = None
        await asyncio.sleep_ms(10)


async def main():
    device = Device()
    listener = Listener(open_link(sys.argv[1]), device, confirm_timeout_ms=int(sys.argv[2]))
    say({"event": "ready"})
    await asyncio.gather(listener.run(), panel(device))

asyncio.run(main())
'''  # noqa: E501


class Harness:
    def __init__(self, tmp_path, confirm_timeout_ms=20000):
        self.path = tmp_path / "ttyMELDBOX"
        self.link = SerialLink(self.path)
        script = tmp_path / "harness.py"
        script.write_text(HARNESS)
        env = dict(
            os.environ,
            MICROPYPATH=os.pathsep.join(
                [str(ROOT / "firmware"), str(ROOT / "tests" / "mp"), ".frozen"]
            ),
        )
        self.proc = subprocess.Popen(
            [
                str(MICROPYTHON),
                "-X",
                "heapsize=256K",
                str(script),
                self.link.device_path,
                str(confirm_timeout_ms),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.out = self.proc.stdout.fileno()
        self.pending = b""
        assert self.event(30) == {"event": "ready"}

    def event(self, timeout=30):
        """The harness's next line of JSON (read unbuffered, so that select() sees all)."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self.pending:
            ready, _, _ = select.select([self.out], [], [], max(0, deadline - time.monotonic()))
            assert ready, "the device harness said nothing in %s s" % timeout
            chunk = os.read(self.out, 4096)
            assert chunk, "the device harness stopped"
            self.pending += chunk
        line, _, self.pending = self.pending.partition(b"\n")
        return json.loads(line)

    def press(self, button):
        self.proc.stdin.write(button + "\n")
        self.proc.stdin.flush()

    def meldbox(self, *args, timeout=60):
        return subprocess.run(
            [str(MELDBOX), "device"] + list(args) + ["--port", str(self.path)],
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def start_meldbox(self, *args):
        return subprocess.Popen(
            [str(MELDBOX), "device"] + list(args) + ["--port", str(self.path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def info(self):
        done = self.meldbox("info", "--json")
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    def close(self):
        self.proc.kill()
        self.proc.wait()
        self.link.close()


@pytest.fixture
def device(tmp_path):
    h = Harness(tmp_path)
    yield h
    h.close()


def test_info_over_the_link(device):
    info = device.info()
    assert info["ok"] is True
    assert info["dev"] == "meldbox-unprovisioned"
    assert info["trust"] == []


def test_language_and_time_zone_apply_without_a_press(device):
    done = device.meldbox("provision", "--lang", "nl", "--tz", "UTC", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["applied"] == ["lang", "tz"]


ATTACK = [
    "--device-id",
    "evil.desk",
    "--time",
    "1704067200",
    "--receipts",
    "nl.eokm=coap://attacker.example/receipts",
]
ATTACK_ROWS = [
    {"field": "dev", "old": "meldbox-unprovisioned", "new": "evil.desk"},
    {
        "field": "receipts",
        "iss": "nl.eokm",
        "old": None,
        "new": "coap://attacker.example/receipts",
    },
    {"field": "time", "new": 1704067200},
]


def test_device_id_receipts_and_clock_wait_for_the_panel_and_B_refuses_them(device):
    proc = device.start_meldbox("provision", *ATTACK)
    assert device.event() == {"event": "confirm", "keys": ATTACK_ROWS}
    device.press("?")
    assert device.event() == {"event": "state", "dev": "meldbox-unprovisioned", "trust": 0}
    device.press("B")
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 1 and "not-confirmed" in err
    assert "pending: press A on the device" in out
    assert "time      set the clock to 2024-01-01 00:00:00 UTC" in out
    info = device.info()
    assert (info["dev"], info["time"], info["receipts"]) == ("meldbox-unprovisioned", None, {})


def test_device_id_receipts_and_clock_apply_after_a_press_of_A(device):
    proc = device.start_meldbox("provision", *ATTACK)
    assert device.event() == {"event": "confirm", "keys": ATTACK_ROWS}
    device.press("A")
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "provisioned: dev, receipts, time" in out
    info = device.info()
    assert (info["dev"], info["time"]) == ("evil.desk", 1704067200)
    assert info["receipts"] == {"nl.eokm": "coap://attacker.example/receipts"}


def test_new_key_counts_only_after_a_press_of_A(device):
    proc = device.start_meldbox(
        "provision", "--device-id", "d1", "--trust", "nl.eokm=" + KEY1.hex()
    )
    event = device.event()
    assert event == {
        "event": "confirm",
        "keys": [
            {"iss": "nl.eokm", "fingerprint": fingerprint(KEY1), "not_after": None},
            {"field": "dev", "old": "meldbox-unprovisioned", "new": "d1"},
        ],
    }
    device.press("?")
    assert device.event() == {"event": "state", "dev": "meldbox-unprovisioned", "trust": 0}
    device.press("A")
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert fingerprint(KEY1) in out  # the operator saw the same fingerprint
    assert "press A" in out
    assert "provisioned: dev, trust" in out
    info = device.info()
    assert info["dev"] == "d1"
    assert info["trust"] == [
        {"iss": "nl.eokm", "fingerprint": fingerprint(KEY1), "revoked": False}
    ]


def test_unanswered_confirmation_times_out(tmp_path):
    h = Harness(tmp_path, confirm_timeout_ms=300)
    try:
        done = h.meldbox("provision", "--trust", "nl.eokm=" + KEY1.hex(), "--json")
        assert done.returncode == 1
        assert json.loads(done.stdout.splitlines()[0])["error"] == "not-confirmed"
        assert h.event() == {
            "event": "confirm",
            "keys": [{"iss": "nl.eokm", "fingerprint": fingerprint(KEY1), "not_after": None}],
        }
        assert h.event() == {"event": "cancel"}
        assert h.info()["trust"] == []
    finally:
        h.close()


def test_device_refuses_bad_settings_with_a_clear_error(device):
    done = device.meldbox("provision", "--ip", "192.0.2.300/24", "--gateway", "192.0.2.1")
    assert done.returncode == 2  # the host tool catches it first
    assert "--ip" in done.stderr
    with serial.Serial(str(device.path), timeout=0.2) as port:  # bypass the host's checks
        port.write(
            host_framing.encode(json.dumps({"id": 5, "op": "provision", "lang": "de"}).encode())
        )
        answer = read_answer(port)
    assert (answer["id"], answer["ok"], answer["error"], answer["code"]) == (
        5,
        False,
        "bad-request",
        "4.00",
    )
    assert "lang" in answer["detail"]


def test_damaged_and_oversized_frames_get_errors_and_the_link_recovers(device):
    good = host_framing.encode(b'{"id": 9, "op": "info"}')
    with serial.Serial(str(device.path), timeout=0.2) as port:
        port.write(good[:-5] + (b"0" if good[-5:-4] != b"0" else b"1") + good[-4:])
        assert read_answer(port)["error"] == "frame-crc"
        port.write(b"#" + b"ab" * 6000 + b"\n")
        assert read_answer(port)["error"] == "frame-too-large"
        port.write(b"\x03\x04 not a frame at all\n" + good)
        answer = read_answer(port)
    assert (answer["id"], answer["ok"]) == (9, True)


def read_answer(port, timeout=10):
    dec = host_framing.Decoder()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for item in dec.feed(port.read(port.in_waiting or 1)):
            assert not isinstance(item, host_framing.FrameError), item
            return json.loads(item)
    raise AssertionError("no answer from the device")


def test_no_device_on_the_port_is_reported(tmp_path):
    done = subprocess.run(
        [str(MELDBOX), "device", "info", "--port", str(tmp_path / "nothing")],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert "cannot open" in done.stderr


def test_a_repl_instead_of_the_firmware_is_recognised(tmp_path):
    # A board without the firmware sits at MicroPython's prompt: it echoes the request
    # and answers with an error and a new prompt, never with a frame.
    with SerialLink(tmp_path / "tty") as link:
        fd = os.open(link.device_path, os.O_RDWR | os.O_NOCTTY)
        try:
            proc = subprocess.Popen(
                [
                    str(MELDBOX),
                    "device",
                    "info",
                    "--port",
                    str(tmp_path / "tty"),
                    "--timeout",
                    "2",
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            ready, _, _ = select.select([fd], [], [], 20)
            assert ready
            request = os.read(fd, 4096)
            os.write(fd, request.replace(b"\n", b"\r\n") + b"SyntaxError: invalid syntax\r\n>>> ")
            out, err = proc.communicate(timeout=30)
        finally:
            os.close(fd)
    assert proc.returncode == 2
    assert "MicroPython prompt" in err


CONSOLE = r"""
import sys
from boards.pico2.console import ConsoleLink
from meldbox.provision import framing

stopped = []
link = ConsoleLink(lambda: stopped.append("watchdog paused"))
buf = bytearray(64)
dec = framing.Decoder()
try:
    while True:
        n = link.read(buf)
        for body in dec.feed(memoryview(buf)[:n]):
            print("frame", bytes(body))
except KeyboardInterrupt:
    print("interrupted", stopped)
print("left for the REPL", sys.stdin.buffer.read(2))
"""


def test_board_console_link_reads_frames_and_hands_ctrl_c_to_the_repl(tmp_path):
    """The board's USB console link (boards/pico2/console.py) on the unix port's stdin: a
    frame is read; mpremote's interrupt (\\r Ctrl-C, then \\r Ctrl-A at once) pauses the
    watchdog, ends the firmware, and leaves the Ctrl-A bytes unread for the REPL."""
    script = tmp_path / "console.py"
    script.write_text(CONSOLE)
    env = dict(os.environ, MICROPYPATH=os.pathsep.join([str(ROOT / "firmware"), ".frozen"]))
    data = host_framing.encode(b'{"id": 1}') + b"\r\x03\r\x01"
    done = subprocess.run(
        [str(MICROPYTHON), str(script)], input=data, capture_output=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode().splitlines() == [
        "frame b'{\"id\": 1}'",
        "interrupted ['watchdog paused']",
        "left for the REPL b'\\r\\x01'",
    ]
