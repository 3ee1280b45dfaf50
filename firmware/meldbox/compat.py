"""What differs between MicroPython and CPython, in one place.

Firmware modules that also run on CPython (host-side cross-checks) write
`from meldbox.compat import micropython, const` and decorate hot functions with
`@micropython.native`. MicroPython's compiler recognises that decorator by its name, so
it compiles to machine code on the device; on CPython `micropython` is a stand-in whose
`native` returns the function unchanged.
"""
try:
    import micropython
    from micropython import const
except ImportError:  # CPython
    class micropython:  # noqa: N801 - stands in for the MicroPython module
        @staticmethod
        def native(fn):
            return fn

        @staticmethod
        def const(x):
            return x

    const = micropython.const
