"""Entry point of the simulated device: micropython sim_main.py STATE_DIR."""
import sys

from boards.sim.board import SimBoard
from meldbox.app.main import run

run(SimBoard(sys.argv[1]))
