"""Render every panel scene (tests/shared/panel_scenes.py) into PNGs for review.

    .venv/bin/python tests/host/ui_render.py [OUT_DIR]        (default: docs/panel/)

The real firmware (meldbox.ui) draws each scene on the MicroPython unix port and writes
the frames the display received (big-endian RGB565); CPython turns them into PNGs with
Pillow. tests/host/test_ui_render.py compares docs/panel/ with a fresh rendering pixel by
pixel, so the review images are always what the firmware draws.
"""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent / "shared"
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(SHARED))

import mphost  # noqa: E402


# --- host side --------------------------------------------------------------------------
def render(outdir):
    """CPython: render every scene into OUTDIR/<name>.png; returns the PNG paths."""
    import tempfile

    from PIL import Image

    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        out = mphost.run(
            "import panel_scenes\npanel_scenes.mp_render(%r)\n" % tmp,
            heap="512K",
            extra_paths=[SHARED],
        )
        names = out.split("RENDERED", 1)[1].split()
        paths = []
        for name in names:
            raw = bytearray((Path(tmp) / (name + ".rgb565")).read_bytes())
            raw[0::2], raw[1::2] = raw[1::2], raw[0::2]  # big- to little-endian
            img = Image.frombytes("RGB", (320, 240), bytes(raw), "raw", "BGR;16")
            path = outdir / (name + ".png")
            img.save(path, optimize=True)
            paths.append(path)
    return paths


if __name__ == "__main__":
    target = (
        sys.argv[1]
        if len(sys.argv) > 1
        else Path(__file__).resolve().parents[2] / "docs" / "panel"
    )
    for p in render(target):
        print(p)
