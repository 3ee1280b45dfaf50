"""ST7789 panel (320x240, 16-bit colour) over SPI, write-only.

Implements the UI's display protocol (meldbox/ui/rgb565.py): width, height and
write(x, y, w, h, data) with big-endian RGB565 rows, which is the byte order this
controller takes, so the bytes go to the panel as they are: set a window, then stream.
Commands from the ST7789V datasheet: SWRESET 01, SLPOUT 11, COLMOD 3A (55 = 16 bit),
MADCTL 36 (orientation), INVON 21 (IPS panels), NORON 13, DISPON 29, CASET 2A, RASET 2B,
RAMWR 2C.
"""
import time

SWRESET = 0x01
SLPOUT = 0x11
NORON = 0x13
INVOFF = 0x20
INVON = 0x21
DISPON = 0x29
CASET = 0x2A
RASET = 0x2B
RAMWR = 0x2C
MADCTL = 0x36
COLMOD = 0x3A
COLOR_16BIT = 0x55


class ST7789:
    def __init__(self, spi, cs, dc, rst=None, width=320, height=240, madctl=0x60, invert=True):
        self.spi = spi
        self.cs = cs
        self.dc = dc
        self.rst = rst
        self.width = width
        self.height = height
        self._one = bytearray(1)
        self._four = bytearray(4)
        cs.value(1)
        self._init(madctl, invert)

    def _command(self, cmd, data=None):
        self._one[0] = cmd
        self.cs.value(0)
        self.dc.value(0)
        self.spi.write(self._one)
        if data is not None:
            self.dc.value(1)
            self.spi.write(data)
        self.cs.value(1)

    def _init(self, madctl, invert):
        if self.rst is not None:
            self.rst.value(0)
            time.sleep_ms(10)
            self.rst.value(1)
            time.sleep_ms(120)
        self._command(SWRESET)
        time.sleep_ms(150)          # the datasheet asks 120 ms after a software reset
        self._command(SLPOUT)
        time.sleep_ms(10)
        self._command(COLMOD, bytes((COLOR_16BIT,)))
        self._command(MADCTL, bytes((madctl,)))
        self._command(INVON if invert else INVOFF)
        self._command(NORON)
        self.fill(0)
        self._command(DISPON)

    def _span(self, cmd, start, end):
        f = self._four
        f[0] = start >> 8
        f[1] = start & 0xFF
        f[2] = end >> 8
        f[3] = end & 0xFF
        self._command(cmd, f)

    def window(self, x, y, w, h):
        """Address the rectangle; the next pixel bytes fill it row by row."""
        self._span(CASET, x, x + w - 1)
        self._span(RASET, y, y + h - 1)

    def write(self, x, y, w, h, data):
        """The UI's display protocol (meldbox/ui/rgb565.py): a w x h rectangle at (x, y),
        `data` exactly w*h*2 bytes of big-endian RGB565, rows top to bottom."""
        if w <= 0 or h <= 0 or x < 0 or y < 0 or x + w > self.width or y + h > self.height \
                or len(data) != w * h * 2:
            raise ValueError("rectangle does not fit the panel")
        self.window(x, y, w, h)
        self._one[0] = RAMWR
        self.cs.value(0)
        self.dc.value(0)
        self.spi.write(self._one)
        self.dc.value(1)
        self.spi.write(data)
        self.cs.value(1)

    def fill(self, rgb565):
        """The whole panel in one colour (used at start-up, before the UI draws)."""
        row = bytearray(2 * self.width)
        hi, lo = rgb565 >> 8, rgb565 & 0xFF
        for i in range(0, len(row), 2):
            row[i] = hi
            row[i + 1] = lo
        self.window(0, 0, self.width, self.height)
        self._one[0] = RAMWR
        self.cs.value(0)
        self.dc.value(0)
        self.spi.write(self._one)
        self.dc.value(1)
        for _ in range(self.height):
            self.spi.write(row)
        self.cs.value(1)
