# firmware: rom
# (from ROMFS, as on the board: the screens staff open now and then are imported again after
# each return to the list, navigation.let_go)
"""The panel's state machine: button sequences -> exact model calls; what is never
recorded (cancel paths, short X on confirm, a notice that left); notifications."""
import gc
import sys

from mptest import eq
from panel_scenes import HOUR, T0, FakeModel, FrameDisplay, Item, NoticeView, sample_notices  # noqa

from meldbox.ui.panel import Panel

MOST_URGENT = b"n-over"      # overdue by 42 minutes in sample_notices()


class Led:
    def __init__(self):
        self.calls = []

    def rgb(self, r, g, b):
        self.calls.append((r, g, b))


class Buzzer:
    def __init__(self):
        self.tones = []
        self.offs = 0

    def tone(self, hz, ms):
        self.tones.append((hz, ms))

    def off(self):
        self.offs += 1


def make(notices=None, **kw):
    gc.collect()
    model = FakeModel(sample_notices() if notices is None else notices, **kw)
    panel = Panel(model, FrameDisplay(keep=False), Led(), Buzzer())
    return model, panel


def on(panel, screen):
    """The panel shows a screen of class `screen` (by name: the screens staff open now and
    then are unloaded on the way back to the list, and imported again as new classes)."""
    return type(panel.screen).__name__ == screen


def press(panel, *seq):
    for b in seq:
        panel.on_button(b[0], "long" if b.endswith("+") else "short")


def acts(model):
    return [c for c in model.calls if c[0] == "act"]


def test_fresh_list_selects_the_most_urgent():
    model, panel = make()
    assert on(panel, "ListScreen")
    eq(panel.screen.selected_key, MOST_URGENT)
    eq([v.key for v in panel.notices],
       [b"n-over", b"n-terror", b"n-amber", b"n-test", b"n-green", b"n-paused"])


def test_x_x_x_hold_x_records_removed_for_the_most_urgent():
    model, panel = make()
    press(panel, "X", "X", "X", "X+")
    eq(model.calls, [("seen", MOST_URGENT), ("act", MOST_URGENT, "removed", None)])
    assert on(panel, "DoneScreen")
    eq(panel.screen.seq, model.seq)
    press(panel, "X")
    assert on(panel, "ListScreen")
    assert panel.find(MOST_URGENT) is None
    eq(panel.screen.selected_key, b"n-terror")      # the most urgent again


def test_short_x_on_confirm_records_nothing():
    model, panel = make()
    press(panel, "X", "X", "X", "X", "X", "A", "B")
    eq(acts(model), [])
    assert on(panel, "ConfirmScreen")


def test_cancel_paths_record_nothing():
    model, panel = make()
    press(panel, "X", "X", "X", "Y")            # confirm -> actions
    assert on(panel, "ActionsScreen")
    eq(panel.screen.sel, 0)
    press(panel, "Y")                           # actions -> detail
    assert on(panel, "DetailScreen")
    press(panel, "Y")                           # detail -> list
    assert on(panel, "ListScreen")
    eq(panel.screen.selected_key, MOST_URGENT)
    press(panel, "X", "X", "B", "B", "B", "X", "Y", "Y", "Y")        # via the reasons
    assert on(panel, "ListScreen")
    press(panel, "X", "X", "B", "B", "B", "X", "X", "Y+")            # long Y cancels too
    assert on(panel, "ReasonScreen")
    eq(acts(model), [])


def test_each_answer_in_menu_order():
    for i, kind in enumerate(("removed", "not-ours", "disputed")):
        model, panel = make()
        press(panel, "X", "X", *(["B"] * i))
        press(panel, "X", "X+")
        eq(acts(model), [("act", MOST_URGENT, kind, None)])


def test_cannot_comply_asks_for_the_reason():
    for i, reason in enumerate(("force-majeure", "manifest-error", "missing-info")):
        model, panel = make()
        press(panel, "X", "X", "B", "B", "B", "B", "X")     # B past the end stays on the last
        assert on(panel, "ReasonScreen")
        press(panel, *(["B"] * i))
        press(panel, "X", "X+")
        eq(acts(model), [("act", MOST_URGENT, "cannot-comply", reason)])
        # stays listed, paused, after the running ones
        press(panel, "Y")
        v = panel.find(MOST_URGENT)
        eq(v.state, "cannot-comply")
        eq(panel.notices[-2].key, MOST_URGENT)


def test_list_navigation_opens_the_selected_notice():
    model, panel = make()
    press(panel, "A", "B", "B", "A", "B")       # A at the top stays
    eq(panel.screen.selected_key, b"n-amber")
    press(panel, "X")
    assert on(panel, "DetailScreen")
    eq(model.calls, [("seen", b"n-amber")])
    eq(panel.screen.view.key, b"n-amber")
    press(panel, "Y")
    eq(panel.screen.selected_key, b"n-amber")   # back to where we were


def test_opening_calls_seen_every_time_the_model_decides():
    model, panel = make()
    press(panel, "X", "Y", "X")
    eq(model.calls, [("seen", MOST_URGENT), ("seen", MOST_URGENT)])
    eq(panel.find(MOST_URGENT).state, "seen")


def test_screens_opened_now_and_then_are_let_go_back_on_the_list():
    model, panel = make()
    press(panel, "X", "X")                      # detail, then actions
    assert on(panel, "ActionsScreen")
    assert "meldbox.ui.screens.actions" in sys.modules
    press(panel, "Y", "Y")                      # back to detail, back to the list
    assert on(panel, "ListScreen")
    for name in ("detail", "actions", "device"):
        assert "meldbox.ui.screens." + name not in sys.modules, name
    press(panel, "X")                           # imported again when next shown
    assert on(panel, "DetailScreen")
    press(panel, "Y", "Y")                      # list, then the device screen
    assert on(panel, "DeviceScreen")
    assert "meldbox.ui.screens.detail" not in sys.modules


def test_y_device_then_refused_and_back():
    model, panel = make()
    press(panel, "Y")
    assert on(panel, "DeviceScreen")
    press(panel, "X")
    assert on(panel, "RejectedScreen")
    press(panel, "Y")
    assert on(panel, "DeviceScreen")
    press(panel, "Y")
    assert on(panel, "ListScreen")
    eq(model.calls, [])


def test_empty_list_x_does_nothing_y_opens_device():
    model, panel = make([])
    press(panel, "X", "A", "B", "X+")
    assert on(panel, "ListScreen")
    press(panel, "Y")
    assert on(panel, "DeviceScreen")
    eq(model.calls, [])


def test_withdrawn_while_confirming_records_nothing():
    model, panel = make()
    press(panel, "X", "X", "X")
    v = panel.screen.view
    model.drop(v.key)
    panel.notify("withdrawn", v)
    assert on(panel, "ListScreen")
    press(panel, "X+")          # the same physical hold now lands on the list
    eq(acts(model), [])


def test_notice_leaving_without_notify_is_noticed_on_tick():
    model, panel = make()
    press(panel, "X", "X")
    model.drop(MOST_URGENT)
    panel.tick()
    assert on(panel, "ListScreen")
    eq(acts(model), [])


def test_record_refuses_a_notice_that_left_meanwhile():
    model, panel = make()
    press(panel, "X", "X", "X")
    model.drop(MOST_URGENT)     # gone, and the panel has not ticked yet
    press(panel, "X+")
    eq(acts(model), [])
    assert not on(panel, "DoneScreen")


def test_failed_act_says_not_recorded_and_retries():
    model, panel = make()
    model.fail_act = OSError("flash write failed")
    press(panel, "X", "X", "X", "X+")
    assert on(panel, "FailedScreen")
    eq(acts(model), [])
    model.fail_act = None
    press(panel, "X")
    assert on(panel, "ConfirmScreen")
    press(panel, "X+")
    eq(acts(model), [("act", MOST_URGENT, "removed", None)])


def test_new_notice_keeps_the_selection():
    model, panel = make()
    press(panel, "B")
    eq(panel.screen.selected_key, b"n-terror")
    v = NoticeView(b"n-urgent", "EOKM-2025-0999", T0 - 2 * HOUR)
    model.add(v)
    panel.notify("new", v)
    eq(panel.notices[0].key, b"n-urgent")
    eq(panel.screen.selected_key, b"n-terror")
    press(panel, "X")
    eq(panel.screen.view.key, b"n-terror")


def test_any_press_silences_the_alert_and_still_acts():
    model, panel = make()
    buzzer = panel.alerts.buzzer
    v = NoticeView(b"n-new", "EOKM-2025-0421", T0 + 20 * HOUR)
    model.add(v)
    panel.notify("new", v)
    assert panel.alerts.active
    panel.tick()
    assert buzzer.tones
    press(panel, "B")
    assert not panel.alerts.active
    assert buzzer.offs >= 1
    eq(panel.screen.selected_key, b"n-terror")      # B still moved the selection
    n = len(buzzer.tones)
    for _ in range(5):
        panel.tick()
    eq(len(buzzer.tones), n)                        # silent until the next event


def test_long_press_elsewhere_acts_like_a_press():
    model, panel = make()
    press(panel, "X+", "X+")
    assert on(panel, "ActionsScreen")
    eq(acts(model), [])


def test_language_switch_redraws_in_dutch():
    model, panel = make()
    model.lang = "nl"
    panel.tick()
    eq(panel.lang, "nl")
    eq(panel.screen.title(), "6 open, 1 te laat")


def test_device_screen_warns_before_a_key_expires():
    from panel_scenes import DAY, DeviceInfo, sample_keys

    from meldbox.ui import palette
    model, panel = make(device=DeviceInfo(sample_keys()))
    press(panel, "Y")
    paras = panel.screen.doc().paras
    amber = [text for label, text, colour, indent in paras if colour == palette.AMBER]
    eq(amber, ["EXPIRES in 12 days (2025-05-18)"])
    red = [text for label, text, colour, indent in paras if colour == palette.RED]
    eq(red, ["REVOKED"])
    texts = [p[1] for p in paras]
    assert "valid until 2026-06-10" in texts, texts
    assert "7f3a 91c2 5be0 44d1 0a9e 6c3f 2d81 b7e4" in texts       # device key fingerprint
    # 31 days before: not yet a warning; at not-after: expired
    model.t = T0 + 12 * DAY + 5 * HOUR - 31 * DAY
    press(panel, "Y", "Y")
    eq([p[1] for p in panel.screen.doc().paras if p[2] == palette.AMBER], [])
    model.t = T0 + 12 * DAY + 5 * HOUR
    press(panel, "Y", "Y")
    assert [p for p in panel.screen.doc().paras if p[1].startswith("EXPIRED")]


def test_refused_messages_show_time_issuer_and_reason():
    from panel_scenes import sample_rejected
    model, panel = make(rejected=sample_rejected(), lang="nl")
    press(panel, "Y", "X")
    texts = [p[1] for p in panel.screen.doc().paras]
    eq(texts[:3], ["nl.eokm (opgegeven)", "Ongeldige handtekening",
                   "signature does not verify [bad-signature]"])
    eq(panel.screen.doc().paras[0][0], "12:10:30")      # today: the time is enough
    assert "uitgever onbekend" in texts


def test_run_task_polls_buttons_and_ticks():
    sys.path.insert(0, ".frozen")       # asyncio is frozen into the unix port
    import asyncio
    import time

    class Buttons:
        def __init__(self):
            self.queue = [[("B", "short")], [], [("X", "short")]]
            self.polls = 0

        def poll(self, now_ms):
            self.polls += 1
            return self.queue.pop(0) if self.queue else ()

    model, panel = make()
    buttons = Buttons()
    ticks = []
    real_tick = panel.tick
    panel.tick = lambda: ticks.append(model.t) or real_tick()

    async def until(state, ms=5000):
        t0 = time.ticks_ms()
        while not state():
            assert time.ticks_diff(time.ticks_ms(), t0) < ms, "the panel task never got there"
            await asyncio.sleep_ms(5)

    async def drive():
        task = asyncio.create_task(panel.run(buttons, lambda: 0, poll_ms=5))
        await until(lambda: buttons.polls >= 3)     # the queued presses are taken
        eq(ticks, [])                               # the second has not changed
        model.t += 1
        await until(lambda: ticks)
        polls = buttons.polls
        await until(lambda: buttons.polls >= polls + 3)     # a few rounds on: one tick only
        task.cancel()

    asyncio.run(drive())
    assert on(panel, "DetailScreen")
    eq(panel.screen.view.key, b"n-terror")
    eq(ticks, [T0 + 1])


def test_news_from_intake_is_drawn_by_the_panel_task_once_per_burst():
    """notify_soon (what the app calls while taking a message in) draws nothing at once;
    the panel's task takes a burst of news in one redraw, and the list shows all of it."""
    sys.path.insert(0, ".frozen")       # asyncio is frozen into the unix port
    import asyncio
    import time

    class NoButtons:
        def poll(self, now_ms):
            return ()

    model, panel = make()
    redraws = []
    real_redraw = panel.redraw
    panel.redraw = lambda: redraws.append(1) or real_redraw()
    views = [NoticeView(b"n-new-%d" % i, "EOKM-2025-05%02d" % i, T0 - (i + 1) * HOUR)
             for i in range(6)]
    for v in views:
        model.add(v)
        panel.notify_soon("new", v)
    eq(redraws, [])                                 # nothing drawn inside intake
    eq(len(panel._news), 4)                         # only the newest NEWS_KEPT wait
    now = [0]

    async def drive():
        task = asyncio.create_task(panel.run(NoButtons(), lambda: now[0], poll_ms=5))
        await asyncio.sleep_ms(30)
        eq(redraws, [])                             # within NEWS_MS of the last: waits
        now[0] += 250
        t0 = time.ticks_ms()
        while not redraws:
            assert time.ticks_diff(time.ticks_ms(), t0) < 5000, "the news was never drawn"
            await asyncio.sleep_ms(5)
        await asyncio.sleep_ms(30)
        task.cancel()

    asyncio.run(drive())
    eq(redraws, [1])                                # one redraw for the burst
    eq(panel._news, [])
    eq(panel.notices[0].key, b"n-new-5")            # the most overdue first
    assert panel._toast is not None
    late = NoticeView(b"n-late", "EOKM-2025-0600", T0 + HOUR)
    model.add(late)
    panel.notify_soon("new", late)
    panel.refresh()                                 # a refresh (sim-ctl) takes news too
    eq(panel._news, [])
    assert panel.position(b"n-late") >= 0


def test_a_screen_that_meets_a_memory_error_opens_after_a_collection():
    """Opening a staff screen imports its module: a MemoryError then is met with a full
    collection and one more try, so the press is not lost (staff would be a screen behind)."""
    from meldbox.ui import panel as panel_module

    model, panel = make()
    real = panel_module.screen_class
    failed = []

    def once_short(name):
        if not failed:
            failed.append(name)
            raise MemoryError("memory allocation failed")
        return real(name)
    panel_module.screen_class = once_short
    try:
        press(panel, "X")
    finally:
        panel_module.screen_class = real
    eq(failed, ["detail"])
    assert on(panel, "DetailScreen")


def test_refresh_redraws_without_ageing_toasts_or_beeping():
    model, panel = make()
    v = NoticeView(b"n-new", "EOKM-2025-0422", T0 + 20 * HOUR)
    model.add(v)
    panel.notify("new", v)
    tones = len(panel.alerts.buzzer.tones)
    model.t += 30
    assert panel.refresh() > 0          # the moved clock is drawn
    for _ in range(10):
        panel.refresh()
    eq(len(panel.alerts.buzzer.tones), tones)
    assert panel._toast is not None
    for _ in range(4):
        panel.tick()
    assert panel._toast is None
