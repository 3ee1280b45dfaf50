"""Entry point on the reference board (MicroPython runs main.py after boot)."""
from meldbox import heap

heap.reserve()     # first, while the heap is still one piece

from boards.board import make_board  # noqa: E402
from meldbox.app.main import run  # noqa: E402

run(make_board())
