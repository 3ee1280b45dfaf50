"""The simulated board's serial port: the device end of the pseudo-terminal pair that
`meldbox sim-device --serial-link PATH` relays to PATH (meldbox_host/sim/serial_link.py),
where `meldbox device provision --port PATH` talks to it as to a board's USB port."""
from meldbox.provision.link import PolledLink


def open_link(path):
    """A non-blocking link on the pty slave `path` (raw mode is set by the relay)."""
    return PolledLink(open(path, "r+b"))
