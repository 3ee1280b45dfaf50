# The QEMU board's part of the firmware image, in the place of a port's
# boards/manifest.py: firmware/build_mcu.py points MicroPython's $(PORT_DIR) at
# firmware/boards/qemu/port, so the manifest.py `make firmware` writes (which includes
# "$(PORT_DIR)/boards/manifest.py") is frozen unchanged. Paths are relative to this file.
include("$(MPY_DIR)/extmod/asyncio")   # as ports/rp2/boards/manifest.py does
package("boards", files=["qemu/__init__.py", "qemu/board.py", "qemu/ramflash.py",
                         "qemu/transport.py"], base_path="../../../..")
module("socket.py", base_path="../../")   # the board's stand-in for a network stack
