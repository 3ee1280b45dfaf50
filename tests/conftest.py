"""pytest plugin: runs firmware test files (tests/firmware/mptest_*.py) on the real
MicroPython unix port and reports each of their tests to pytest by name, the way
MicroPython's own run-tests.py runs tests on the unix port.

Each file is run once, when pytest collects it: the runner (tests/mp/mptest.py) prints
every test's name first, then the results, which the file's items then report."""

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIRMWARE = ROOT / "firmware"
MPTEST = ROOT / "tests" / "mp" / "mptest.py"
SHARED = ROOT / "tests" / "shared"  # what firmware and host tests share (panel scenes)
MICROPYTHON = Path(sys.executable).with_name("micropython")
MARK = "@@MPTEST"
HEAP_RE = re.compile(rb"^# heapsize: (\w+)", re.M)
ROM_RE = re.compile(rb"^# firmware: rom$", re.M)
DEFAULT_HEAP = "256K"
TIMEOUT_S = 600


_scratch = []


def scratch_dir():
    """A folder of this pytest session for files firmware tests write (mptest.scratch):
    two worktrees running the same test at once must not share a file in /tmp."""
    if not _scratch:
        _scratch.append(tempfile.mkdtemp(prefix="mptest-"))
    return _scratch[0]


def micropython_env(extra_paths=()):
    env = dict(os.environ, MPTEST_SCRATCH=scratch_dir())
    paths = [str(p) for p in extra_paths] + [
        str(FIRMWARE),
        str(MPTEST.parent),
        str(SHARED),
        ".frozen",
    ]
    env["MICROPYPATH"] = os.pathsep.join(paths)
    return env


def run_micropython(args, heap=DEFAULT_HEAP, extra_paths=(), timeout=TIMEOUT_S, rom=False):
    """Run MicroPython on args; with `rom`, the firmware comes from the simulator's ROMFS
    image (bytecode outside the heap, as on the board) instead of from source."""
    env = micropython_env(extra_paths)
    cmd = [str(MICROPYTHON), "-X", "heapsize=" + heap] + list(args)
    if rom:
        from meldbox_host.sim import romfs

        cmd = [sys.executable, "-m", "meldbox_host.sim.launch", str(romfs.image())] + cmd[1:]
        env["MICROPYPATH"] = env["MICROPYPATH"].replace(str(FIRMWARE) + os.pathsep, "")
    return subprocess.run(
        cmd,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


class MicroPythonFile(pytest.File):
    def heap(self):
        m = HEAP_RE.search(self.path.read_bytes())
        return m.group(1).decode() if m else DEFAULT_HEAP

    def collect(self):
        rom = bool(ROM_RE.search(self.path.read_bytes()))
        proc = run_micropython([str(MPTEST), str(self.path)], heap=self.heap(), rom=rom)
        names = [
            ln.split(" ", 2)[2]
            for ln in proc.stdout.splitlines()
            if ln.startswith(MARK + " CASE ")
        ]
        if not names:
            raise pytest.Collector.CollectError(
                "micropython could not list tests in %s:\n%s%s"
                % (self.path, proc.stdout, proc.stderr)
            )
        self._results = parse_results(proc.stdout)
        self._tail = proc.stdout[-3000:] + proc.stderr[-3000:]
        self._rc = proc.returncode
        for name in names:
            yield MicroPythonItem.from_parent(self, name=name)

    def results(self):
        return self._results


def parse_results(stdout):
    results, current, lines = {}, None, []
    for line in stdout.splitlines():
        if line.startswith(MARK + " PASS "):
            name = line[len(MARK) + 6 :].rsplit(" ", 1)[0]
            results[name] = (True, "")
        elif line.startswith(MARK + " FAIL "):
            current, lines = line[len(MARK) + 6 :], []
        elif line.startswith(MARK + " END") and current is not None:
            results[current] = (False, "\n".join(lines))
            current = None
        elif current is not None:
            lines.append(line)
    return results


class MicroPythonFailure(Exception):
    pass


class MicroPythonItem(pytest.Item):
    def runtest(self):
        results = self.parent.results()
        if self.name not in results:
            raise MicroPythonFailure(
                "no result from micropython (exit %s); output tail:\n%s"
                % (self.parent._rc, self.parent._tail)
            )
        ok, trace = results[self.name]
        if not ok:
            raise MicroPythonFailure(trace)

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, MicroPythonFailure):
            return "MicroPython: %s" % excinfo.value
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, 0, "micropython: %s" % self.name


def pytest_collect_file(parent, file_path):
    if file_path.suffix == ".py" and file_path.name.startswith("mptest_"):
        return MicroPythonFile.from_parent(parent, path=file_path)


class _NotForCPython(pytest.File):
    def collect(self):
        return []


def pytest_pycollect_makemodule(module_path, parent):
    # A firmware test file named on the command line must not also be imported by CPython.
    if module_path.name.startswith("mptest_"):
        return _NotForCPython.from_parent(parent, path=module_path)


def pytest_sessionfinish(session):
    for folder in _scratch:
        shutil.rmtree(folder, ignore_errors=True)
