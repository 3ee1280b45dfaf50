"""The board's flash filesystem as the app's block device.

MicroPython's rp2 image keeps a littlefs filesystem in the flash after the firmware
(rp2.Flash(): 1408 KiB = 352 blocks of 4096 bytes on the W5500-EVB-Pico2's 2 MiB chip)
and mounts it at '/' when it boots; `make deploy` installs the firmware there (/main.py,
/lib/...). The app mounts its block device itself, at /flash, so the board unmounts '/'
first: one littlefs, mounted once, with the code under /flash/lib and the app's data
under /flash/meldbox. A reflash of MicroPython leaves this region, and the notices, alone.
"""
import sys

import rp2
import vfs


def block_device():
    bdev = rp2.Flash()
    try:
        vfs.umount("/")
    except OSError:         # not mounted: a blank device, which the app formats
        pass
    for path in ("/flash/lib", "/flash"):   # modules imported after the remount
        if path not in sys.path:
            sys.path.append(path)
    return bdev
