# heapsize: 512K
"""The panel on MicroPython: heap the UI holds (modules, and a Panel with its band and
strip buffers and fonts), full redraw time of the list and of a notice, one-second tick
time (with 6 and with 500 active notices) and the pixels a tick pushes. The display
only counts pixels, so the figures are the UI's own cost. Medians of RUNS runs."""
import gc
import json
import sys
import time

sys.path.append("tests/shared")
RUNS = 21


def bench(name, value, unit, note):
    print("@@BENCH " + json.dumps({"name": name, "value": value, "unit": unit, "note": note}))


def median_us(fn, runs=RUNS):
    times = []
    for _ in range(runs):
        t0 = time.ticks_us()
        fn()
        times.append(time.ticks_diff(time.ticks_us(), t0))
    times.sort()
    return times[len(times) // 2]


class CountingDisplay:
    width, height = 320, 240

    def __init__(self):
        self.pixels = 0

    def write(self, x, y, w, h, data):
        self.pixels += w * h


class Slim:
    """A minimal notice (the application's views may be leaner than the test fakes)."""

    def __init__(self, i, t0):
        self.key = b"k%04d" % i
        self.ref = "EOKM-2026-%04d" % i
        self.cat = "csam"
        self.state = "seen"
        self.deadline = t0 + 600 + i * 97
        self.paused_left = None
        self.paused = False
        self.test = False
        self.items = ()
        self.host = "files.example.net"


def main():
    gc.collect()
    base = gc.mem_alloc()
    from meldbox.ui.panel import Panel
    from meldbox.ui.screens import actions, detail, device  # noqa: F401 (all screens)
    gc.collect()
    modules = gc.mem_alloc() - base
    import panel_scenes
    model = panel_scenes.FakeModel([])
    display = CountingDisplay()
    gc.collect()
    before = gc.mem_alloc()
    panel = Panel(model, display)
    gc.collect()
    held = gc.mem_alloc() - before
    bench("ui_heap_modules", modules, "bytes", "UI modules compiled on the unix port (64-bit)")
    bench("ui_heap_panel", held, "bytes", "Panel instance: band + strip buffers, fonts, state")

    model = panel_scenes.FakeModel(panel_scenes.sample_notices())
    panel = Panel(model, display)
    bench("ui_full_redraw_list", median_us(panel.redraw), "us", "list with 6 notices, 320x240 pushed")
    panel.on_button("X", "short")
    bench("ui_full_redraw_detail", median_us(panel.redraw), "us", "detail of an overdue notice")
    panel.on_button("Y", "short")

    def tick():
        model.t += 1
        panel.tick()
    bench("ui_tick", median_us(tick), "us", "one-second tick on the list, 6 notices")
    model.t += 1
    bench("ui_tick_pixels", panel.tick(), "pixels", "pushed by a one-second tick (76,800 = full screen)")
    bench("ui_button", median_us(lambda: (panel.on_button("B", "short"), panel.on_button("A", "short"))) // 2,
          "us", "list selection move: content repaint")

    slim = [Slim(i, model.t) for i in range(500)]
    model._notices = slim
    panel.notify("new", slim[0])
    gc.collect()
    bench("ui_tick_500", median_us(tick), "us", "one-second tick with 500 active notices (alert scan)")


main()
