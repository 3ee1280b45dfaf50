"""Pick the board this firmware runs on (firmware/main.py calls make_board()).

The simulator does not come through here: sim_main.py builds its board from a state
directory. Each board package lists the MicroPython image it expects in hardware/README.md.
"""
import sys


def make_board():
    if sys.platform == "rp2":
        from boards.pico2.board import Pico2Board
        return Pico2Board()
    raise RuntimeError("no Meldbox board support for platform %r (the simulator starts "
                       "with sim_main.py STATE_DIR)" % sys.platform)
