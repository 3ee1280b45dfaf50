"""The simulated board: the MicroPython unix port with file-backed flash and panel."""
