"""The panel's confirmation of a provisioning change (ui/screens/trust.py): what a serial
peer asks for is shown, A applies only once every row has been on screen, B refuses at
any time, and each answer is given exactly once."""
# heapsize: 256K
import gc

from mptest import eq
from panel_scenes import FakeModel, FrameDisplay, sample_notices

from meldbox.ui.panel import Panel
from meldbox.ui.screens.notices import ListScreen


class Quiet:
    def rgb(self, r, g, b):
        pass

    def tone(self, hz, ms):
        pass

    def off(self):
        pass


FP = "1111 2222 3333 4444 5555 6666 7777 8888"
ROWS = [{"iss": "nl.eokm", "fingerprint": FP, "not_after": None},
        {"field": "dev", "old": "desk-1", "new": "evil.desk"},
        {"field": "trust", "iss": "nl.eokm", "fingerprint": FP, "change": "removed",
         "not_after": None},
        {"field": "receipts", "iss": "nl.eokm", "old": None, "new": "coap://attacker.example/r"},
        {"field": "net", "new": "192.0.2.66/24 gw 192.0.2.1 dns 192.0.2.66"},
        {"field": "time", "new": 1704067200}]


def asking(rows, lang="en"):
    gc.collect()
    model = FakeModel(sample_notices(), lang=lang)
    panel = Panel(model, FrameDisplay(keep=False), Quiet(), Quiet())
    answers = []
    panel.confirm_keys(rows, answers.append)
    return panel, answers


def shown(panel):
    return " ".join(p[1] for p in panel.screen.doc().paras)


def test_a_scrolls_through_every_change_before_it_applies():
    panel, answers = asking(ROWS)
    screen = panel.screen
    eq(screen.title(), "Apply this change?")
    presses = 0
    while screen.more():
        eq(screen.hints[0], "hint.down")
        panel.on_button("A", "short")
        presses += 1
        eq(answers, [])                             # nothing applied while rows were unseen
        assert presses < 20
    assert presses > 0
    eq(screen.hints[0], "hint.apply")
    panel.on_button("A", "short")
    eq(answers, [True])
    assert isinstance(panel.screen, ListScreen)
    panel.on_button("A", "short")
    eq(answers, [True])                             # once


def test_b_refuses_at_once():
    panel, answers = asking(ROWS)
    panel.on_button("B", "short")
    eq(answers, [False])


def test_only_new_keys_keep_the_trust_wording():
    panel, answers = asking(ROWS[:1])
    eq((panel.screen.title(), panel.screen.hints[0]), ("Trust new keys?", "hint.trust"))
    panel.on_button("A", "short")
    eq(answers, [True])


def test_dutch_and_the_clock_going_back_is_flagged():
    panel, answers = asking(ROWS[5:], lang="nl")
    eq(panel.screen.title(), "Deze wijziging toepassen?")
    text = shown(panel)
    assert "De klok gaat terug" in text, text
    panel, answers = asking([{"field": "time", "new": 4000000000}])
    assert "klok gaat terug" not in shown(panel) and "clock goes back" not in shown(panel)
