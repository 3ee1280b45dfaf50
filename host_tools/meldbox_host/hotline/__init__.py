"""The hotline side of Meldbox: key generation, sending signed notices to a device, and
a receipt server that verifies and chains what devices send back."""
