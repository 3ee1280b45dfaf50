"""Meldbox firmware: takes signed takedown notices, keeps them, answers with signed receipts."""
import sys

VERSION = "0.1.0"


def log_exception(what, e):
    """Log an exception the device carries on after (the board's console, the simulator's
    stderr): nobody should have to guess what happened."""
    print("meldbox: error %s:" % what, file=sys.stderr)
    sys.print_exception(e, sys.stderr)
