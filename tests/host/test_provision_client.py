"""The host's provisioning client (meldbox_host/provision/client.py) against a scripted
serial port: answers that arrive together in one read are all seen."""

import json

import pytest

from meldbox_host.provision import client as client_module
from meldbox_host.provision.client import DeviceClient
from meldbox_host.provision.framing import Decoder, encode


class ScriptedSerial:
    """A serial port whose device answers a request with `answers(request)`, all of them
    in one chunk of bytes (as a slow reader finds them in the pty's buffer)."""

    answers = None

    def __init__(self, *args, **kwargs):
        self.incoming = b""
        self.requests = Decoder()

    def reset_input_buffer(self):
        self.incoming = b""

    @property
    def in_waiting(self):
        return len(self.incoming)

    def write(self, data):
        for body in self.requests.feed(data):
            request = json.loads(body)
            for answer in type(self).answers(request):
                self.incoming += encode(json.dumps(answer).encode())

    def read(self, n):
        chunk, self.incoming = self.incoming[:n], self.incoming[n:]
        return chunk

    def close(self):
        pass


@pytest.fixture
def scripted(monkeypatch):
    monkeypatch.setattr(client_module.serial, "Serial", ScriptedSerial)
    return ScriptedSerial


def test_a_final_answer_in_the_same_read_as_the_pending_one_is_not_lost(scripted):
    scripted.answers = lambda req: [
        {"id": req["id"], "pending": "confirm", "keys": [], "timeout_s": 1},
        {"id": req["id"], "ok": True, "applied": ["dev"]},
    ]
    pending = []
    with DeviceClient("/dev/scripted", timeout=2) as link:
        answer = link.provision(on_pending=pending.append, dev="desk-2")
    assert answer["applied"] == ["dev"]
    assert [p["pending"] for p in pending] == ["confirm"]


def test_no_final_answer_is_a_clear_error_after_the_confirm_time(scripted, monkeypatch):
    monkeypatch.setattr(client_module, "CONFIRM_MARGIN_S", 0.2)
    scripted.answers = lambda req: [
        {"id": req["id"], "pending": "confirm", "keys": [], "timeout_s": 0}
    ]
    with DeviceClient("/dev/scripted", timeout=2) as link:
        with pytest.raises(client_module.LinkError, match="no answer"):
            link.provision(dev="desk-2")
