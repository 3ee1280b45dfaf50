"""On-target test runner (QEMU Cortex-M): runs a module's tests and prints the lines
tests/conftest.py's parse_results reads (@@MPTEST PASS/FAIL ... END), as
tests/mp/mptest.py does on the unix port. A module defines test_* functions and/or
cases() -> [(name, callable)]; main(module, names) runs the named ones (all if none).
A module with `async def scenario(report)` instead runs one asyncio scenario (a device
running alongside its tests) and reports each check with `await report.check(name, fn)`
(fn a function or a coroutine function)."""
import sys
import time

MARK = "@@MPTEST"


def eq(a, b, what=""):
    if a != b:
        raise AssertionError("%s%r != %r" % (what + ": " if what else "", a, b))


def collect(mod):
    found = [(n, getattr(mod, n)) for n in sorted(dir(mod)) if n.startswith("test_")]
    if hasattr(mod, "cases"):
        found.extend(mod.cases())
    return found


class Report:
    def __init__(self, names):
        self.names = names
        self.failed = 0

    async def check(self, name, fn):
        """Run one named check; a failure is reported and the scenario goes on."""
        if self.names and name not in self.names:
            return
        t0 = time.ticks_ms()
        try:
            result = fn()
            if hasattr(result, "send"):       # a coroutine
                await result
        except Exception as e:
            self.failed += 1
            print(MARK, "FAIL", name)
            sys.print_exception(e)
            print(MARK, "END")
        else:
            print(MARK, "PASS", name, time.ticks_diff(time.ticks_ms(), t0))


def main(module, names=()):
    mod = __import__(module)
    if hasattr(mod, "scenario"):
        import asyncio
        asyncio.run(mod.scenario(Report(names)))
        return
    for name, fn in collect(mod):
        if names and name not in names:
            continue
        t0 = time.ticks_ms()
        try:
            fn()
        except Exception as e:
            print(MARK, "FAIL", name)
            sys.print_exception(e)
            print(MARK, "END")
        else:
            print(MARK, "PASS", name, time.ticks_diff(time.ticks_ms(), t0))
