"""The QEMU board: MicroPython's bare-metal ports/qemu on an MPS3-AN547 (Cortex-M55) under
qemu-system-arm, for tests and instruction counts on a 32-bit core (hardware/README.md).
Flash and panel memory are RAM outside the heap; the network is an in-memory transport."""
