"""Test doubles for the provisioning firmware tests (MicroPython): the serial link, the
store's config file, and the service's view of the appliance (device.AppDevice on the
board). Shared by tests/firmware/mptest_provision*.py."""
from meldbox.app import config as configuration
from meldbox.core import cbor


class Link:
    def __init__(self):
        self.inbox = bytearray()
        self.out = bytearray()

    def read(self, buf):
        n = min(len(buf), len(self.inbox))
        buf[:n] = self.inbox[:n]
        self.inbox = self.inbox[n:]
        return n

    def write(self, data):
        self.out += data


class Store:
    """What config.apply_provisioning needs of the store: the saved config (store/device.py
    reads and writes it as the file `config`)."""
    root = ""

    def __init__(self):
        self.saved = {}
        self.saves = 0

    def read_cbor(self, path, default=None):
        assert path == "/config", path
        return dict(self.saved)

    def write_atomic(self, path, data):
        assert path == "/config", path
        self.saved = cbor.loads(data)
        self.saves += 1


class Device:
    def __init__(self, panel=True):
        self.store = Store()
        self.cfg = configuration.current(self.store)
        self.times = []
        self.asked = None
        self.cancelled = 0
        self.panel = panel

    def config(self):
        return self.cfg

    def apply(self, prov):
        self.cfg = configuration.apply_provisioning(self.store, prov)
        return self.cfg

    def set_time(self, t):
        self.times.append(t)

    def info(self):
        return {"dev": self.cfg["dev"]}

    def confirm(self, keys, on_done):
        if not self.panel:
            from meldbox.provision.service import NoPanel
            raise NoPanel("no panel")
        self.asked = (keys, on_done)

    def cancel_confirm(self):
        self.cancelled += 1
