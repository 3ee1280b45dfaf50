"""What differs between MicroPython and CPython, in one place.

Firmware modules import `native` and `const` from here so that the same source runs on
the device (where @micropython.native compiles to machine code) and on CPython, where
host-side tests compare it with host libraries.
"""
try:
    import micropython

    native = micropython.native
    const = micropython.const
    IS_MICROPYTHON = True
except ImportError:  # CPython
    IS_MICROPYTHON = False

    def native(fn):
        return fn

    def const(x):
        return x
