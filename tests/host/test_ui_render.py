"""The panel's review images: every scene (tests/shared/panel_scenes.py) renders on
MicroPython and converts to PNG; docs/panel/ holds exactly these images, pixel for pixel
(MELDBOX_UPDATE_PANEL_DOCS=1 rewrites them: look at every one before committing); the
committed fonts match their generator."""

import os
import sys
from pathlib import Path

import pytest
from PIL import Image, ImageChops

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "tests" / "shared"))
sys.path.insert(0, str(ROOT / "firmware" / "tools"))

import panel_scenes  # noqa: E402

import make_font  # noqa: E402
import ui_render  # noqa: E402

UPDATE = os.environ.get("MELDBOX_UPDATE_PANEL_DOCS") == "1"


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    out = tmp_path_factory.mktemp("panel")
    return {p.stem: Image.open(p).convert("RGB") for p in ui_render.render(out)}


def expected_names():
    return {n for n, _, _ in panel_scenes.scenes()} | {
        n for n, _, _ in panel_scenes.event_scenes()
    }


def test_committed_fonts_match_the_generator():
    assert make_font.main(["--check"]) == 0


def test_every_scene_renders_at_panel_size(rendered):
    assert set(rendered) == expected_names()
    for name, img in rendered.items():
        assert img.size == (320, 240), name
        assert len(img.getcolors(65536)) >= 4, name + " is (nearly) blank"


def test_review_images_are_what_the_firmware_draws(rendered):
    docs = ROOT / "docs" / "panel"
    if UPDATE:
        for old in docs.glob("*.png"):
            old.unlink()
        for name, img in rendered.items():
            img.save(docs / (name + ".png"), optimize=True)
    committed = {p.stem for p in docs.glob("*.png")}
    assert committed == expected_names()
    for name, img in sorted(rendered.items()):
        want = Image.open(docs / (name + ".png")).convert("RGB")
        diff = ImageChops.difference(img, want).getbbox()
        assert diff is None, "docs/panel/%s.png differs from the rendering in %s" % (name, diff)


def close(rgb, want, tol=8):
    return all(abs(a - b) <= tol for a, b in zip(rgb, want))


def test_overdue_stripe_is_red_and_calm_one_green(rendered):
    img = rendered["list-several"]
    assert close(img.getpixel((3, 60)), (255, 56, 56))  # row 1: overdue
    assert close(img.getpixel((3, 60 + 3 * 45)), (72, 214, 104))  # row 4: 5 h left


def test_dutch_differs_from_english(rendered):
    en, nl = rendered["list-several"], rendered["nl-list"]
    top_en = en.crop((0, 18, 320, 38)).tobytes()
    top_nl = nl.crop((0, 18, 320, 38)).tobytes()
    assert top_en != top_nl  # hints and title are translated
    assert en.crop((0, 38, 200, 62)).tobytes() != nl.crop((0, 38, 200, 62)).tobytes()  # "te laat"


def test_toast_scenes_show_a_coloured_footer(rendered):
    for name in ("list-new-notice", "confirm-short-press"):
        footer = rendered[name].crop((40, 222, 280, 238))
        most = max(footer.getcolors(65536))[1]  # the toast's background
        assert most != (0, 0, 0), name


def test_panel_time_zone_matches_zoneinfo():
    """timefmt on MicroPython against CPython's zoneinfo (Europe/Amsterdam, since the EU
    rules of 1996), around every switch and at random moments."""
    import datetime
    import random
    import zoneinfo

    import mphost

    ams = zoneinfo.ZoneInfo("Europe/Amsterdam")
    rnd = random.Random(7)
    times = [rnd.randrange(820454400, 4102444800) for _ in range(1500)]
    for year in range(1996, 2100):
        for month in (3, 10):
            last = max(d for d in range(25, 32) if datetime.date(year, month, d).weekday() == 6)
            switch = int(datetime.datetime(year, month, last, 1, tzinfo=datetime.UTC).timestamp())
            times += [switch - 1, switch]
    code = (
        "from meldbox.ui import timefmt\n"
        "for t in %r:\n"
        "    print(timefmt.date_time(t, 'CET', True))\n" % times
    )
    got = mphost.run(code).split("\n")
    assert len(got) >= len(times)
    for t, line in zip(times, got):
        local = datetime.datetime.fromtimestamp(t, ams)
        assert line == local.strftime("%Y-%m-%d %H:%M:%S ") + local.tzname(), (t, line)
