"""The button debouncer: bounce is ignored, short on release, long while still held."""
from mptest import eq

from meldbox.ui.buttons import Buttons

A, B, X, Y = 1, 2, 4, 8


class Wire:
    """Raw button state over time: a list of (from_ms, mask)."""

    def __init__(self, timeline):
        self.timeline = timeline
        self.now = 0

    def read(self):
        mask = 0
        for t, m in self.timeline:
            if t <= self.now:
                mask = m
        return mask


def run(timeline, until_ms, step=5):
    w = Wire(timeline)
    b = Buttons(w.read)
    out = []
    t = 0
    while t <= until_ms:
        w.now = t
        for name, kind in b.poll(t):
            out.append((t, name, kind))
        t += step
    return out


def test_short_press_on_release():
    ev = run([(0, 0), (100, X), (300, 0)], 600)
    eq([(n, k) for _, n, k in ev], [("X", "short")])
    assert 300 <= ev[0][0] <= 330, ev


def test_bounce_gives_one_press():
    bouncy = [(0, 0), (100, A), (103, 0), (106, A), (109, 0), (112, A),
              (400, 0), (403, A), (406, 0)]
    ev = run(bouncy, 800, step=1)
    eq([(n, k) for _, n, k in ev], [("A", "short")])


def test_glitch_shorter_than_debounce_is_ignored():
    eq(run([(0, 0), (100, B), (110, 0)], 500, step=1), [])


def test_long_press_fires_while_held_and_no_short_after():
    ev = run([(0, 0), (100, X), (2500, 0)], 3000)
    eq([(n, k) for _, n, k in ev], [("X", "long")])
    assert 1100 <= ev[0][0] <= 1130, ev       # at the threshold, not on release


def test_just_under_a_second_is_short():
    ev = run([(0, 0), (100, X), (1050, 0)], 1500)
    eq([(n, k) for _, n, k in ev], [("X", "short")])


def test_two_buttons_independent():
    ev = run([(0, 0), (100, A), (200, A | Y), (300, Y), (1400, 0)], 1600)
    eq([(n, k) for _, n, k in ev], [("A", "short"), ("Y", "long")])


def test_ticks_wrap_around():
    # time.ticks_ms wraps; the debouncer must only use differences
    from time import ticks_add
    w = Wire([(0, 0)])
    b = Buttons(w.read)
    base = ticks_add(0, -50)        # just before the wrap
    events = []
    for i in range(0, 400, 5):
        w.now = i
        w.timeline = [(0, 0), (20, B), (200, 0)]
        events += b.poll(ticks_add(base, i))
    eq(events, [("B", "short")])


def test_a_simulated_press_waits_for_the_panel_to_read_it():
    """The simulator's buttons (boards/sim/board.py): a press lasts its hold from the
    moment the panel first reads it, so a device whose loop was busy for longer than the
    hold still gets the press, once, as a short press; a second press is its own."""
    import os
    import time

    from mptest import scratch

    from boards.sim.board import SimBoard

    state = scratch("mptest-sim-buttons")
    try:
        os.mkdir(state)
    except OSError:
        pass
    with open(state + "/sim.json", "w") as f:
        f.write("{}")
    board = SimBoard(state)
    buttons = Buttons(board.read_buttons)
    board.press("X", 100)
    time.sleep_ms(150)                      # the loop was busy past the whole hold
    assert board.pressing("X")
    events = []
    t0 = time.ticks_ms()
    while board.pressing("X") or time.ticks_diff(time.ticks_ms(), t0) < 200:
        events += buttons.poll(time.ticks_ms())
        time.sleep_ms(5)
    eq(events, [("X", "short")])
    board.press("X", 100)
    board.press("Y", 100)
    t0 = time.ticks_ms()
    while time.ticks_diff(time.ticks_ms(), t0) < 300:
        events += buttons.poll(time.ticks_ms())
        time.sleep_ms(5)
    eq(sorted(events[1:]), [("X", "short"), ("Y", "short")])
