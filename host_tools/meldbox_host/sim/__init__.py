"""The simulator: the real firmware on the MicroPython unix port, driven from the host."""
