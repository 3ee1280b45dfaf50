"""Flash for the QEMU board: littlefs over RAM outside the GC heap, with power cuts.

The region is QEMU's DDR (uctypes.bytearray_at), so, like the RP2350's flash, it costs no
heap and survives what the tests do to the interpreter; the host reads or loads it whole
(QEMU's pmemsave and -device loader). With `cut_after` set, the N-th block write is torn
(only its first half lands) and `on_cut` is called, which must never return.
"""
import uctypes

BLOCK_SIZE = 4096
BLOCK_COUNT = 352          # 1408 KiB: the reference board's filesystem (boards/pico2/flash.py)


class RamBlockDevice:
    def __init__(self, addr, block_size=BLOCK_SIZE, block_count=BLOCK_COUNT):
        self.block_size = block_size
        self.block_count = block_count
        self.mem = memoryview(uctypes.bytearray_at(addr, block_size * block_count))
        self.cut_after = None
        self.on_cut = None
        self.writes = 0

    def readblocks(self, block, buf, offset=0):
        start = block * self.block_size + offset
        buf[:] = self.mem[start:start + len(buf)]

    def writeblocks(self, block, buf, offset=None):
        self.writes += 1
        start = block * self.block_size + (offset or 0)
        n = len(buf)
        if self.cut_after is not None and self.writes >= self.cut_after:
            self.mem[start:start + n // 2] = memoryview(buf)[:n // 2]
            self.on_cut()
        self.mem[start:start + n] = buf

    def ioctl(self, op, arg):
        if op == 4:       # block count
            return self.block_count
        if op == 5:       # block size
            return self.block_size
        return 0          # init, deinit, sync, erase: nothing to do for RAM
