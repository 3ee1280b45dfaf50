"""`meldbox device`: provision and inspect a Meldbox over its USB serial port (pyserial),
speaking the framed protocol of firmware/meldbox/provision."""
