"""Simulated flash: a block device over a host file, with power cuts on demand.

littlefs (vfs.VfsLfs2) calls readblocks/writeblocks with an offset (the extended block
device protocol), just as it does over a board's flash. With `cut_after` set, the N-th
block write is torn (only its first half reaches the file) and `on_cut` is called, which
must never return: the device is dead from that moment, as at a power cut.
"""
BLOCK_SIZE = 4096
BLOCK_COUNT = 352          # 1408 KiB, the reference board's littlefs (hardware/README.md)


class FileBlockDevice:
    def __init__(self, path, block_size=BLOCK_SIZE, block_count=BLOCK_COUNT, cut_after=None,
                 on_cut=None):
        self.block_size = block_size
        self.block_count = block_count
        self.cut_after = cut_after
        self.on_cut = on_cut
        self.writes = 0
        try:
            self.file = open(path, "r+b")
            # An existing image keeps its size (its filesystem was made for it).
            self.block_count = self.file.seek(0, 2) // block_size
        except OSError:
            self.file = open(path, "w+b")
            blank = b"\xff" * block_size
            for _ in range(block_count):
                self.file.write(blank)
            self.file.flush()

    def readblocks(self, block, buf, offset=0):
        self.file.seek(block * self.block_size + offset)
        self.file.readinto(buf)

    def writeblocks(self, block, buf, offset=None):
        # MicroPython's files on the unix port are unbuffered: each write is a write(2),
        # in the host's page cache at once, which a SIGKILL (the simulated power cut)
        # does not lose. flush() would be an fsync, which only a host crash needs.
        self.writes += 1
        self.file.seek(block * self.block_size + (offset or 0))
        if self.cut_after is not None and self.writes >= self.cut_after:
            self.file.write(memoryview(buf)[:len(buf) // 2])
            self.on_cut()
        self.file.write(buf)

    def ioctl(self, op, arg):
        if op == 4:       # block count
            return self.block_count
        if op == 5:       # block size
            return self.block_size
        # 1 init, 2 deinit, 3 sync, 6 erase: nothing to do for a file (littlefs does not
        # rely on the erased value)
        return 0
