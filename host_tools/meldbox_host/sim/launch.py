"""Run the MicroPython unix port with the firmware's ROMFS image mapped in memory.

python -m meldbox_host.sim.launch IMAGE MICROPYTHON_ARGS...

The image is held in this process's memory (outside MicroPython's GC heap, like a
board's ROMFS partition in flash); its address reaches the firmware through
MELDBOX_ROMFS=address:length, and firmware/sim_main.py mounts it with vfs.VfsRom.
"""

import ctypes
import os
import sys

from micropython_run import run_main


def main(argv):
    data = open(argv[0], "rb").read()
    rom = ctypes.create_string_buffer(data, len(data))
    os.environ["MELDBOX_ROMFS"] = "%d:%d" % (ctypes.addressof(rom), len(data))
    return run_main(["micropython"] + argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
