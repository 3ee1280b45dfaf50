"""Entry point on the reference board (MicroPython runs main.py after boot)."""
from meldbox import heap

heap.reserve()     # first, while the heap is still one piece
from meldbox.ui import font  # noqa: E402

font.preload()     # then the fonts, also long-lived and large

from boards.board import make_board  # noqa: E402
from meldbox.app.main import run  # noqa: E402

run(make_board())
