// Meldbox on MicroPython's ports/qemu: the port's own configuration, plus what the
// firmware needs that the port leaves out. firmware/build_mcu.py selects this file with
// MP_CONFIGFILE; VfsLfs2 comes from the make variable MICROPY_VFS_LFS2.
#include <mpconfigport.h>

// The appliance is written on asyncio (the port turns it off: its own tests need none).
#undef MICROPY_PY_ASYNCIO
#define MICROPY_PY_ASYNCIO (1)

// os.urandom (the CoAP client draws message ids and retransmission jitter from it). The
// port's mp_hal_get_random is an LCG: QEMU's MPS3 board has no random number generator.
#define MICROPY_PY_OS_URANDOM (1)

// littlefs stamps files with the time; the port has no clock for C (the app keeps its
// own through the board), so files carry time 0.
#define mp_hal_time_ns() (0)
