"""What the panel puts on the display: colours that could be wrong, text that could be
missing, and how few pixels a one-second tick pushes (the display keeps every pixel)."""
# heapsize: 1M
import gc

from mptest import eq, scratch
from panel_scenes import (  # noqa
    DAY,
    HOUR,
    T0,
    FakeModel,
    FrameDisplay,
    Status,
    many_notices,
    sample_notices,
)

from meldbox.ui import chrome, countdown, font, palette
from meldbox.ui.layout import ellipsize, wrap
from meldbox.ui.panel import Panel
from meldbox.ui.rgb565 import Converter, rgb565

ROW0_Y = chrome.CONTENT_Y      # first list row


def q(index):
    """A palette colour as it comes back from RGB565."""
    r, g, b = palette.rgb(index)
    return r & 0xF8, g & 0xFC, b & 0xF8


def count(display, x, y, w, h, colour):
    want = q(colour)
    n = 0
    for yy in range(y, y + h):
        for xx in range(x, x + w):
            if display.rgb(xx, yy) == want:
                n += 1
    return n


def make(notices=None, record=False, **kw):
    gc.collect()
    model = FakeModel(sample_notices() if notices is None else notices, **kw)
    display = FrameDisplay(record=record)
    return model, display, Panel(model, display)


def test_overdue_row_countdown_is_red_and_counts_up():
    model, d, panel = make()
    eq(panel.notices[0].key, b"n-over")
    cell = (12, ROW0_Y + 1, 160, 22)
    red = count(d, *cell, palette.RED)
    assert red > 300, red
    for other in (palette.ORANGE, palette.AMBER, palette.GREEN, palette.BLUE):
        eq(count(d, *cell, other), 0, "colour %d in the overdue cell" % other)
    eq(count(d, 1, ROW0_Y + 5, 5, 30, palette.RED), 5 * 30)     # the urgency stripe (x=0: the selection frame)  # noqa: E501


def test_each_urgency_has_its_colour():
    model, d, panel = make()
    # rows: overdue, terror (40 min: orange), amber (3 h), test (5 h: green)
    for row, colour in enumerate((palette.RED, palette.ORANGE, palette.AMBER, palette.GREEN)):
        y = ROW0_Y + row * 45
        assert count(d, 12, y + 1, 160, 22, colour) > 300, (row, colour)
        eq(count(d, 2, y + 10, 3, 20, colour), 60, "stripe of row %d" % row)


def test_paused_notice_is_blue_with_its_frozen_time():
    model, d, panel = make()
    for _ in range(5):
        panel.on_button("B", "short")       # the paused one sorts last
    eq(panel.screen.selected_key, b"n-paused")
    y = ROW0_Y + 3 * 45
    assert count(d, 12, y + 1, 160, 22, palette.BLUE) > 300
    before = bytes(d.frame)
    model.t += 7
    panel.tick()
    a, b = y * 320 * 2, (y + 44) * 320 * 2
    eq(bytes(d.frame[a:b]), before[a:b], "a paused countdown must not move")


def test_empty_state_text_is_drawn():
    model, d, panel = make([])
    body = font.get("body")
    w = body.width("No open notices")
    y = chrome.CONTENT_Y + 58 + 48
    white = [x for x in range(320) for yy in range(y, y + body.height)
             if d.rgb(x, yy) == q(palette.FG)]
    assert len(white) > 150, len(white)
    eq(min(white) >= 160 - w // 2 - 1 and max(white) <= 160 + w // 2 + 1, True)
    assert max(white) - min(white) > w - 12, (min(white), max(white), w)
    assert count(d, 130, chrome.CONTENT_Y + 30, 60, 60, palette.GREEN) > 1500   # the tick mark disc  # noqa: E501


def test_one_second_tick_pushes_only_the_changed_digits():
    model, d, panel = make(record=True)
    d.reset()
    model.t += 1
    panel.tick()
    big = font.get("big")
    # four countdowns change, each at most its time's width, and the clock digits
    limit = 4 * (4 + big.width("+00:00:00")) * countdown.CELL_H + chrome.CLOCK_W * chrome.STATUS_H
    assert 0 < d.pixels <= limit, (d.pixels, limit)
    assert d.pixels < 320 * 240 // 4
    for x, y, w, h in d.rects:
        assert h <= countdown.CELL_H and w <= 170, (x, y, w, h)
    eq(panel.pushed, d.pixels)


def test_tick_without_change_pushes_nothing():
    model, d, panel = make()
    d.reset()
    panel.tick()                # same second: nothing to repaint
    eq(d.pixels, 0)


def _same_as_fresh(model, d, screen_buttons=()):
    """The incrementally updated frame equals a full redraw of the same state."""
    d2 = FrameDisplay()
    fresh = Panel(model, d2)
    for b in screen_buttons:
        fresh.on_button(b, "short")
    fresh.tick()
    if d.frame != d2.frame:
        diff = [i // 2 for i in range(0, len(d.frame), 2) if d.frame[i:i + 2] != d2.frame[i:i + 2]]
        raise AssertionError("%d pixels differ, first at x=%d y=%d" % (
            len(diff), diff[0] % 320, diff[0] // 320))


def test_incremental_ticks_match_a_full_redraw_on_the_list():
    model, d, panel = make()
    for step in (1, 1, 59, 3600, 2 * HOUR + 13 * 60, DAY):   # cells, crossings, formats
        model.t += step
        panel.tick()
        for _ in range(4):      # toasts and nothing else
            panel.tick()
    _same_as_fresh(model, d)


def test_incremental_ticks_match_a_full_redraw_on_the_detail():
    model, d, panel = make()
    panel.on_button("B", "short")
    panel.on_button("X", "short")
    for step in (1, 1, 40 * 60):     # the terror order becomes overdue
        model.t += step
        panel.tick()
    for _ in range(5):
        panel.tick()
    _same_as_fresh(model, d, ("B", "X"))


def _red_right_edge(d):
    return max(x for x in range(8, 260) for y in range(ROW0_Y + 2, ROW0_Y + 22)
               if d.rgb(x, y) == q(palette.RED))


def test_untrusted_clock_is_red_and_countdowns_are_marked_estimates():
    model, d, panel = make(clock="untrusted", status=Status(False, None, 3))
    assert count(d, 0, 0, chrome.CLOCK_W, chrome.STATUS_H, palette.RED) > 60
    trusted = _red_right_edge(d)
    del d, panel
    model, d, panel = make()
    eq(count(d, 0, 0, chrome.CLOCK_W, chrome.STATUS_H, palette.RED), 0)
    # "~+00:42:10 overdue" ends exactly one "~" further right than "+00:42:10 overdue"
    eq(trusted - _red_right_edge(d), font.get("big").width("~"))


def test_banners_on_the_detail_screen():
    model, d, panel = make()
    panel.on_button("B", "short")
    panel.on_button("X", "short")       # the terror order: nodisclose and preserve
    y = chrome.CONTENT_Y + 45
    assert count(d, 0, y, 320, chrome.BANNER_H - 1, palette.DARKRED) > 320 * 10
    assert count(d, 0, y + chrome.BANNER_H, 320, chrome.BANNER_H - 1, palette.NAVY) > 320 * 10


def test_display_receives_big_endian_rgb565():
    model, d, panel = make()
    r, g, b = palette.rgb(palette.BAR)
    v = rgb565(r, g, b)
    o = (0 * 320 + 300) * 2 + 320 * 2 * 0        # status bar, top row, no text there
    eq((d.frame[o], d.frame[o + 1]), (v >> 8, v & 255))


class Recorder:
    width, height = 8, 4

    def __init__(self):
        self.writes = []

    def write(self, x, y, w, h, data):
        self.writes.append((x, y, w, h, bytes(data)))


def test_converter_strips_and_palette():
    import framebuf
    src = framebuf.FrameBuffer(bytearray(8 * 4 // 2), 8, 4, framebuf.GS4_HMSB)
    src.fill(0)
    src.pixel(1, 0, 1)
    src.pixel(7, 3, 2)
    colours = bytes((0, 0, 0, 255, 0, 0, 0, 0, 255))
    conv = Converter(colours, strip_bytes=8 * 2 * 2)     # two rows per strip
    rec = Recorder()
    eq(conv.push(rec, src, 10, 20, 8, 4), 32)
    eq([w[:4] for w in rec.writes], [(10, 20, 8, 2), (10, 22, 8, 2)])
    eq(rec.writes[0][4][2:4], b"\xf8\x00")          # pure red, big-endian
    eq(rec.writes[1][4][-2:], b"\x00\x1f")          # pure blue at (7, 3)
    eq(rec.writes[0][4][:2], b"\x00\x00")


def test_wrap_fits_and_keeps_every_character():
    f = font.get("body")
    from array import array
    text = ("https://img.hostedpics.example.nl/album/8812/IMG_20250501_221455.jpg?"
            "size=original&token=" + "x" * 90 + " and some words after it\nnext line")
    out = array("H")
    wrap(f, text, 150, 280, out, 0)
    lines = [text[out[i + 1]:out[i + 2]] for i in range(0, len(out), 3)]
    eq("".join(lines).replace("\n", ""), text.replace("\n", ""))
    assert len(lines) >= 4
    for n, s in enumerate(lines):
        assert f.width(s.rstrip()) <= (150 if n == 0 else 280), (n, s, f.width(s))
    eq(lines[-1], "next line")


def test_ellipsize():
    f = font.get("small")
    eq(ellipsize(f, "short", 200), "short")
    s = ellipsize(f, "a very long reference that cannot fit", 80)
    assert s.endswith("\u2026") and f.width(s) <= 80, s


def test_doc_scrolls_a_long_notice():
    model, d, panel = make(many_notices(6))
    from panel_scenes import Item
    v = panel.notices[0]
    v.items = [Item("https://example.net/" + "p%d/" % i * 30) for i in range(12)]
    panel.on_button("X", "short")
    screen = panel.screen
    total = len(screen.doc())
    assert total > 3 * screen.visible(), total
    seen = 0
    while panel.screen.first + screen.visible() < total:
        first = screen.first
        panel.on_button("B", "short")
        assert screen.first > first
        seen += 1
        assert seen < 100
    eq(screen.hints[1], None)           # at the end: no "Down" hint
    panel.on_button("A", "short")
    assert screen.hints[0] is not None and screen.hints[1] is not None


def test_file_display_places_rows():
    from boards.sim.display import FileDisplay
    path = scratch("file_display.rgb565")
    fd = FileDisplay(path, 4, 3)
    fd.write(1, 1, 2, 2, memoryview(b"\x01\x02\x03\x04\x05\x06\x07\x08"))
    fd.write(0, 0, 4, 1, memoryview(b"\xaa" * 8))
    fd.close()
    with open(path, "rb") as f:
        data = f.read()
    eq(data, b"\xaa" * 8 + b"\x00\x00\x01\x02\x03\x04\x00\x00" + b"\x00\x00\x05\x06\x07\x08\x00\x00")  # noqa: E501
    import os
    os.remove(path)
