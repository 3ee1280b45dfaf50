"""Where the panel draws: a band of 4-bit palette pixels (framebuf.GS4_HMSB) that is
moved over the screen, so no full frame buffer is kept.

Painting a rectangle (Panel.paint) sets the canvas's window to one band of it at a time
(at most BAND_BYTES of pixels, 24 full-width rows), calls the painter, which draws in
screen coordinates (the window clips), and pushes the band. A 320x240 frame would take
38,400 bytes at 4 bits a pixel (150 KiB as RGB565); the band takes 3,840 (a taller band
would call painters less often, at 160 bytes of heap a row).

Text is drawn without allocating: the glyphs are ORed into a one-line MONO_HLSB buffer
(Font.render), which is blitted onto the band through a two-entry palette
(0 -> transparent, 1 -> the text colour).
"""
import framebuf

from meldbox import heap
from meldbox.ui import font as fonts

BAND_BYTES = heap.SIZES["ui.band"]     # 24 full-width rows, reserved at boot
LINE_ROWS = 24          # tallest font cell


class Canvas:
    def __init__(self, width=320, height=240, band_bytes=BAND_BYTES):
        self.width = width
        self.height = height
        self.buf = heap.take("ui.band", band_bytes)
        self.fb = None
        self.ox = self.oy = self.w = self.h = 0
        self._line = heap.take("ui.line", width * LINE_ROWS // 8)
        self._lines = {}       # font height -> MONO_HLSB view of _line
        self._pal = framebuf.FrameBuffer(bytearray(1), 2, 1, framebuf.GS4_HMSB)

    def rows_for(self, w):
        """How many rows of width w one band holds."""
        return len(self.buf) * 2 // w

    def window(self, x, y, w, h):
        """Draw into screen rectangle (x, y, w, h) from now on (h <= rows_for(w))."""
        if (w, h) != (self.w, self.h):
            self.fb = framebuf.FrameBuffer(self.buf, w, h, framebuf.GS4_HMSB)
        self.ox, self.oy, self.w, self.h = x, y, w, h

    def hidden(self, y, h):
        """True when screen rows y .. y+h-1 are outside the current window."""
        return y >= self.oy + self.h or y + h <= self.oy

    def font(self, name):
        f = fonts.get(name)
        if f.height not in self._lines:
            self._lines[f.height] = framebuf.FrameBuffer(self._line, self.width, f.height,
                                                         framebuf.MONO_HLSB)
        return f

    # --- drawing, in screen coordinates ----------------------------------------------
    def fill(self, colour):
        self.fb.fill(colour)

    def rect(self, x, y, w, h, colour):
        self.fb.fill_rect(x - self.ox, y - self.oy, w, h, colour)

    def frame(self, x, y, w, h, colour):
        self.fb.rect(x - self.ox, y - self.oy, w, h, colour)

    def hline(self, x, y, w, colour):
        self.fb.hline(x - self.ox, y - self.oy, w, colour)

    def line(self, x0, y0, x1, y1, colour):
        self.fb.line(x0 - self.ox, y0 - self.oy, x1 - self.ox, y1 - self.oy, colour)

    def disc(self, cx, cy, r, colour):
        self.fb.ellipse(cx - self.ox, cy - self.oy, r, r, colour, True)

    def text(self, f, s, x, y, colour):
        """Draw string s in Font f with its cell's top-left at (x, y); returns the x after
        the text. Only the glyphs' pixels are painted (the background shows through)."""
        if self.hidden(y, f.height) or x >= self.ox + self.w:
            return x + f.width(s)
        line = self._lines[f.height]
        line.fill(0)
        end = f.render(line, s)
        pal = self._pal
        key = colour ^ 1
        pal.pixel(0, 0, key)
        pal.pixel(1, 0, colour)
        self.fb.blit(line, x - self.ox, y - self.oy, key, pal)
        return x + end

    def text_right(self, f, s, right, y, colour):
        """Draw s ending at x = right; returns its left x."""
        x = right - f.width(s)
        self.text(f, s, x, y, colour)
        return x

    def text_centre(self, f, s, cx, y, colour):
        self.text(f, s, cx - f.width(s) // 2, y, colour)
