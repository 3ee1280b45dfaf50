"""Every panel text exists in English and Dutch, with the same placeholders, drawable
with the panel's fonts; every key the screens use exists."""
import os

from mptest import eq

from meldbox.core import errors
from meldbox.ui import font, i18n
from meldbox.ui.screens.actions import KINDS, REASONS

UI = "firmware/meldbox/ui"


def placeholders(s):
    out = []
    i = s.find("%")
    while i >= 0:
        out.append(s[i:i + 2])
        i = s.find("%", i + 2)
    return out


def test_every_key_has_both_languages():
    eq(i18n.LANGS, ("en", "nl"))
    keys = []
    for entry in i18n.entries():
        eq(len(entry), 3, repr(entry))
        key, en, nl = entry
        assert en.strip() and nl.strip(), "empty text for " + key
        eq(placeholders(en), placeholders(nl), key)
        eq(i18n.text(key, "en"), en)
        eq(i18n.text(key, "nl"), nl)
        assert key not in keys, "twice: " + key
        keys.append(key)
    assert len(keys) > 120, len(keys)


def test_text_picks_the_language():
    eq(i18n.text("hint.back", "en"), "Back")
    eq(i18n.text("hint.back", "nl"), "Terug")


def test_every_character_is_in_the_fonts():
    fonts = [font.get("small"), font.get("body")]
    for key, en, nl in i18n.entries():
        for ch in en + nl:
            for f in fonts:
                assert f.chars.find(ch) >= 0, "%s: %r not in a font" % (key, ch)


def test_countdown_characters_are_in_the_big_font():
    big = font.get("big")
    for ch in "0123456789:+~#dhu ":
        assert big.chars.find(ch) >= 0, ch
    for lang in i18n.LANGS:
        assert big.chars.find(i18n.text("unit.h", lang)) >= 0


def test_dynamic_keys_exist():
    keys = []
    for kind in KINDS:
        keys += ["act." + kind, "actdesc." + kind]
    for r in REASONS:
        keys.append("why." + r)
    for cat in ("csam", "terror", "other"):
        keys += ["cat." + cat, "catlong." + cat]
    for state in ("new", "seen", "cannot-comply"):
        keys.append("state." + state)
    for src in ("rtc", "ntp", "hotline", "untrusted"):
        keys += ["clock." + src, "dev.clock." + src]
    for key in keys:
        assert i18n.has(key), key


def test_every_refusal_reason_has_a_text():
    for name in dir(errors):
        cls = getattr(errors, name)
        if isinstance(cls, type) and issubclass(cls, errors.ProtocolError):
            for lang in i18n.LANGS:
                s = i18n.reason(cls.reason, lang)
                assert s != cls.reason, "no text for reason " + cls.reason


def _sources(folder):
    for name in os.listdir(folder):
        path = folder + "/" + name
        if name.endswith(".py"):
            yield path
        elif "." not in name:
            for p in _sources(path):
                yield p


def test_every_literal_key_in_the_screens_exists():
    found = 0
    for path in _sources(UI):
        with open(path) as f:
            src = f.read()
        for opener in ('t("', 'text("'):
            i = src.find(opener)
            while i >= 0:
                j = src.find('"', i + len(opener))
                key = src[i + len(opener):j]
                prev = src[i - 1] if i else " "
                if key[-1:] != "." and (prev in " (.[=" or prev == "\n"):
                    assert i18n.has(key), "%s uses unknown key %r" % (path, key)
                    found += 1
                i = src.find(opener, j)
    assert found > 60, found
