"""Minimal test runner for firmware tests on the MicroPython unix port.

Usage: micropython mptest.py [--list] path/to/mptest_x.py [name ...]

A test module defines functions named test_*; it may also define cases(),
returning a list of (name, callable) pairs for table-driven tests (vectors).
Results go to stdout as lines the pytest plugin in tests/conftest.py reads: first every
test's name (so that one run both lists and runs them), then each result:
  @@MPTEST CASE <name>        (only these with --list)
  @@MPTEST PASS <name> <ms>
  @@MPTEST FAIL <name>        followed by the traceback, then @@MPTEST END
A file with the line "# firmware: rom" runs with the firmware as the device has it: the
simulator's ROMFS image (MELDBOX_ROMFS, see host_tools/meldbox_host/sim/launch.py) is
mounted at /rom and imported from, so that bytecode costs no heap (heap-budget tests).
"""
import os
import sys
import time

MARK = "@@MPTEST"

if os.getenv("MELDBOX_ROMFS") and "/rom" not in sys.path:  # once, not again on import
    import uctypes
    import vfs

    _addr, _size = os.getenv("MELDBOX_ROMFS").split(":")
    vfs.mount(vfs.VfsRom(uctypes.bytearray_at(int(_addr), int(_size))), "/rom")
    sys.path.insert(0, "/rom")


def raises(exc_type, fn, *args, **kwargs):
    """Assert that fn(*args) raises exc_type; returns the exception."""
    try:
        fn(*args, **kwargs)
    except exc_type as e:
        return e
    raise AssertionError("expected %s, nothing raised" % exc_type.__name__)


def refused(reason, fn, *args, **kwargs):
    """Assert that fn(*args) refuses with a ProtocolError whose reason is `reason`, or
    one of its family (`reason`-...: "cbor" takes "cbor-truncated"); returns it."""
    from meldbox.core.errors import ProtocolError

    try:
        fn(*args, **kwargs)
    except ProtocolError as e:
        if e.reason != reason and not e.reason.startswith(reason + "-"):
            raise AssertionError("expected %s, got %s: %s" % (reason, e.reason, e.detail))
        return e
    raise AssertionError("expected %s, nothing raised" % reason)


def scratch(name):
    """A path for a file the test writes: in the pytest session's own folder (the plugin
    sets MPTEST_SCRATCH), so that parallel runs elsewhere cannot collide with it."""
    return (os.getenv("MPTEST_SCRATCH") or "/tmp") + "/" + name


def eq(a, b, what=""):
    """Assert equality with both values in the message (MicroPython's assert has none)."""
    if a != b:
        raise AssertionError("%s%r != %r" % (what + ": " if what else "", a, b))


def collect(mod):
    found = []
    for name in sorted(dir(mod)):
        if name.startswith("test_"):
            fn = getattr(mod, name)
            if callable(fn):
                found.append((name, fn))
    if hasattr(mod, "cases"):
        found.extend(mod.cases())
    return found


def load(path):
    slash = path.rfind("/")
    folder, fname = (path[:slash], path[slash + 1:]) if slash >= 0 else (".", path)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    return __import__(fname[:-3] if fname.endswith(".py") else fname)


def main(argv):
    list_only = "--list" in argv
    args = [a for a in argv if a != "--list"]
    mod = load(args[0])
    wanted = args[1:]
    tests = [(name, fn) for name, fn in collect(mod) if not wanted or name in wanted]
    for name, _ in tests:
        print(MARK, "CASE", name)
    if list_only:
        return
    for name, fn in tests:
        t0 = time.ticks_ms()
        try:
            fn()
        except Exception as e:
            print(MARK, "FAIL", name)
            sys.print_exception(e)
            print(MARK, "END")
        else:
            print(MARK, "PASS", name, time.ticks_diff(time.ticks_ms(), t0))


main(sys.argv[1:])
