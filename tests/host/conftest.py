"""Fixtures of the host tests that run simulated devices (see e2e.py)."""

import pytest

from tests.host.e2e import Hotline, device


@pytest.fixture
def hotline():
    """A hotline with a fresh key, named e2e.ISS."""
    return Hotline()


@pytest.fixture
def devices(tmp_path):
    """devices(hotline, *flags, name="dev", receipts_port=None, heap=None, start=True):
    a simulated device in tmp_path/name that trusts `hotline`, started unless start=False.
    Every device made is stopped when the test ends, however it ends."""
    made = []

    def make(hotline, *flags, start=True, **kw):
        dev = device(tmp_path, hotline, *flags, **kw)
        made.append(dev)
        if start:
            dev.start()
        return dev

    yield make
    for dev in made:
        dev.stop()
