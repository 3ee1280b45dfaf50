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
    "store.index": 1000 * 16,       # store/store.py: MAX_ACTIVE index records
}
# Only where the board has a provisioning link (every real board; the simulator with
# --serial-link): provision/framing.py's line buffer for a 4096-byte frame.
SERIAL_SIZES = {"provision.frame": 1 + 2 * (4096 + 6)}
_reserved = {}


def reserve(serial=True):
    for sizes in (SIZES, SERIAL_SIZES) if serial else (SIZES,):
        for name, size in sizes.items():
            _reserved[name] = bytearray(size)


def take(name, size):
    """The reserved buffer `name` if it has `size` bytes, else a new one."""
    buf = _reserved.pop(name, None)
    return buf if buf is not None and len(buf) == size else bytearray(size)


# The high-water mark of the heap, sampled where it peaks (after a message is decoded
# and verified, while all its pieces are alive) and reported in status receipts.
peak = 0


def sample():
    global peak
    import gc
    used = gc.mem_alloc()
    if used > peak:
        peak = used
