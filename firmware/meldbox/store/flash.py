"""Mount the board's block device as littlefs.

A factory-new (blank) device is formatted; a device whose filesystem does not mount is
NEVER formatted automatically, since that would destroy acknowledged notices: the error
goes up and the device stays down until someone looks at it.
"""
import os
import vfs

# littlefs geometry. MicroPython allocates every open file's object together with a
# cache of 4 x max(read, prog) bytes, in one piece, on the heap: with 64-byte units that
# is about 430 bytes instead of 1.2 KiB with 256, which a heap of small holes finds far
# more often (a commit opens up to 7 files). 64 divides the 256-byte page of common SPI
# NOR flash, and small files' commits are padded to 64 bytes instead of 256.
READ_SIZE = 64
PROG_SIZE = 64
LOOKAHEAD = 128


def _is_blank(bdev):
    buf = bytearray(READ_SIZE)
    for block in (0, 1):
        bdev.readblocks(block, buf)
        first = buf[0]
        if first not in (0x00, 0xFF):
            return False
        for b in buf:
            if b != first:
                return False
    return True


def mount(bdev, mountpoint="/flash"):
    """Mount bdev at mountpoint; format it first only when it is blank."""
    try:
        fs = vfs.VfsLfs2(bdev, readsize=READ_SIZE, progsize=PROG_SIZE, lookahead=LOOKAHEAD)
    except OSError:
        if not _is_blank(bdev):
            raise
        vfs.VfsLfs2.mkfs(bdev, readsize=READ_SIZE, progsize=PROG_SIZE, lookahead=LOOKAHEAD)
        fs = vfs.VfsLfs2(bdev, readsize=READ_SIZE, progsize=PROG_SIZE, lookahead=LOOKAHEAD)
    vfs.mount(fs, mountpoint)
    return mountpoint


def usage(mountpoint):
    """(used_bytes, total_bytes) of the filesystem."""
    st = os.statvfs(mountpoint)
    total = st[0] * st[2]
    return total - st[0] * st[3], total
