"""Large long-lived buffers, reserved at boot before imports fragment the heap.

MicroPython's heap does not move objects: after the imports and the store's start-up
have scattered thousands of small objects, a request for one 6 KiB block can fail with
plenty of memory free. The entry points reserve the few big buffers first, while the
heap is still one piece, and their owners take them by name later.
"""
SIZES = {
    "ui.band": 320 * 24 // 2,       # ui/canvas.py: one 24-row band of 4-bit pixels
    "ui.line": 320 * 24 // 8,       # ui/canvas.py: one line of text, 1 bit a pixel
    "ui.strip": 320 * 4 * 2,        # ui/rgb565.py: RGB565 rows on their way to the panel
    "coap.body": 8192,              # coap/blockwise.py: a Block1 request body (a notice)
    "panel.index": 1000 * 16,       # app/model.py: PanelIndex, MAX_ACTIVE records
    "coap.rx_reserve": 1280 + 1,    # coap/messagelayer.py: given up for a datagram's scratch
}
# Only where the board has a provisioning link (every real board; the simulator with
# --serial-link): provision/framing.py's buffer for a 2048-byte frame body (and its
# length and CRC), decoded from hex as it arrives.
SERIAL_SIZES = {"provision.frame": 2048 + 6}
_reserved = {}
# While booting, collect after every BOOT_GC_THRESHOLD bytes allocated. Imports and the
# store's start-up leave garbage between the objects that live for ever; collected at
# once, the next long-lived object reuses that hole instead of landing above it. At 256K
# that turns a heap of small holes (largest free block 3 KiB after boot) into one packed
# at the bottom with 26 KiB in one piece at the top. main.py sets the running threshold.
BOOT_GC_THRESHOLD = 2048


def reserve(serial=True):
    import gc
    gc.collect()
    gc.threshold(BOOT_GC_THRESHOLD)
    for sizes in (SIZES, SERIAL_SIZES) if serial else (SIZES,):
        for name, size in sizes.items():
            _reserved[name] = bytearray(size)


def take(name, size):
    """The reserved buffer `name` if it has `size` bytes, else a new one."""
    buf = _reserved.pop(name, None)
    return buf if buf is not None and len(buf) == size else bytearray(size)


def largest_free():
    """The largest block the heap can hand out now, in bytes (a bisection of trial
    allocations: total free memory says nothing about a 1.2 KiB littlefs file buffer)."""
    import gc
    gc.collect()
    lo, hi = 0, gc.mem_free()
    while hi - lo > 16:
        mid = (lo + hi) // 2
        try:
            probe = bytearray(mid)
            del probe
            lo = mid
        except MemoryError:
            hi = mid
    return lo


def unload(names):
    """Forget the modules `names` (their package's attribute too), so that their objects
    are collected: for code needed rarely, imported again when next needed."""
    import gc
    import sys
    for name in names:
        if sys.modules.pop(name, None) is not None:
            dot = name.rfind(".")
            package = sys.modules.get(name[:dot])
            if package is not None:
                package.__dict__.pop(name[dot + 1:], None)
    gc.collect()


_ballast = []


FRAGMENT_BYTES = 24 * 1024


def fragment(hole):
    """Simulator test knob (sim-device --fragment-heap BYTES): a worst case before boot.
    FRAGMENT_BYTES of blocks of `hole` bytes, every other one freed at once, so boot's
    long-lived objects land in between; the rest is freed once boot is done (boot_done),
    and the device runs on a stretch of islands and holes."""
    import gc
    freed = []
    for _ in range(FRAGMENT_BYTES // (2 * hole)):
        _ballast.append(bytearray(hole))
        freed.append(bytearray(hole))
    del freed
    gc.collect()


def boot_done():
    """Boot has placed its long-lived objects: let go of the ballast (see fragment)."""
    del _ballast[:]


# The high-water mark of the heap, sampled where it peaks (after a message is decoded
# and verified, while all its pieces are alive) and reported in status receipts.
peak = 0


def sample():
    global peak
    import gc
    used = gc.mem_alloc()
    if used > peak:
        peak = used
