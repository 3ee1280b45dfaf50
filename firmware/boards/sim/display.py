"""The simulator's panel: a display (meldbox/ui/rgb565.py's protocol) whose pixels live
in a file, as in the panel's own memory on a board."""


class FileDisplay:
    """A display whose pixels live in a file (big-endian RGB565, row-major, no header):
    the simulator's panel, readable by `sim-ctl snapshot` while the device runs."""

    def __init__(self, path, width, height):
        self.path = path
        self.width = width
        self.height = height
        with open(path, "wb") as f:
            row = bytes(width * 2)
            for _ in range(height):
                f.write(row)
        self._f = open(path, "r+b")

    def write(self, x, y, w, h, data):
        f = self._f
        stride = w * 2
        if w == self.width:
            f.seek(y * stride)
            f.write(data)
        else:
            for r in range(h):
                f.seek(((y + r) * self.width + x) * 2)
                f.write(data[r * stride : (r + 1) * stride])
        # no flush: writes are unbuffered (write(2)), and flush() would be an fsync

    def close(self):
        self._f.close()
