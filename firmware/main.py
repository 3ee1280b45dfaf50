"""Entry point on the reference board (MicroPython runs main.py after boot)."""
from boards.board import make_board
from meldbox.app.main import run

run(make_board())
