"""The panel's pixels on the wire: 4-bit palette canvas -> big-endian RGB565 strips.

Display protocol (implemented by each board's display object):

    display.width, display.height    pixels (320 x 240, landscape)
    display.write(x, y, w, h, data)  write a w x h rectangle at (x, y); `data` is a
                                     memoryview of exactly w*h*2 bytes, RGB565
                                     big-endian (as an ST7789 takes it over SPI), rows
                                     top to bottom. One rectangle may arrive as several
                                     calls (strips of rows); the buffer is reused after
                                     the call returns.

The Converter turns a band of the GS4_HMSB canvas into such strips with one framebuf
blit per strip through a 16-entry RGB565 palette (C speed, no per-pixel Python).
framebuf stores RGB565 little-endian, so the palette holds byte-swapped colours and the
bytes come out big-endian. The strip buffer is allocated once.
"""
import framebuf

from meldbox import heap

STRIP_BYTES = heap.SIZES["ui.strip"]     # four full-width rows, reserved at boot


def rgb565(r, g, b):
    return ((r & 0xF8) << 8) | ((g & 0xFC) << 3) | (b >> 3)


class Converter:
    def __init__(self, colours, strip_bytes=STRIP_BYTES):
        """colours: r, g, b bytes per palette index (palette.COLOURS)."""
        n = len(colours) // 3
        self.palette = framebuf.FrameBuffer(bytearray(2 * n), n, 1, framebuf.RGB565)
        for i in range(n):
            c = rgb565(colours[3 * i], colours[3 * i + 1], colours[3 * i + 2])
            self.palette.pixel(i, 0, ((c & 0xFF) << 8) | (c >> 8))
        self.strip = heap.take("ui.strip", strip_bytes)
        self.view = memoryview(self.strip)
        self._fb = None
        self._fb_w = 0

    def push(self, display, src, x, y, w, h):
        """Send the w x h GS4 FrameBuffer `src` to display.write as the screen rectangle
        at (x, y), in strips; returns the number of pixels sent."""
        rows = len(self.strip) // (2 * w)
        if self._fb_w != w:     # a strip view per width; the buffer itself is shared
            self._fb = framebuf.FrameBuffer(self.strip, w, rows, framebuf.RGB565)
            self._fb_w = w
        fb = self._fb
        done = 0
        while done < h:
            n = rows if rows < h - done else h - done
            fb.blit(src, 0, -done, -1, self.palette)
            display.write(x, y + done, w, n, self.view[:w * n * 2])
            done += n
        return w * h

