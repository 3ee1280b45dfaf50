"""The resident part of provisioning: reads the serial link and cuts it into frames.

The service that answers them (service.py, with request.py, changes.py and the panel's
trust screen) is imported for the first frame and let go again once no request waits
for the panel: about 12 KiB of module objects the heap would otherwise carry for the
months between two provisioning sessions (256K, firmware/README.md "Memory")."""
import asyncio
import gc
import json
import sys

from meldbox import heap
from meldbox.provision import framing

# The link is read in chunks of READ_CHUNK bytes, polled every POLL_MS when idle.
POLL_MS = 20
READ_CHUNK = 256
# What only a provisioning exchange needs, dropped from sys.modules when it is over.
ON_DEMAND = ("meldbox.provision.service", "meldbox.provision.request",
             "meldbox.provision.changes", "meldbox.ui.screens.trust")


class Listener:
    def __init__(self, link, device, max_body=framing.MAX_BODY, confirm_timeout_ms=None):
        self.link = link
        self.device = device        # device.AppDevice
        self.max_body = max_body
        self.confirm_timeout_ms = confirm_timeout_ms    # None: the service's default
        self.decoder = framing.Decoder(max_body)
        self.rx = bytearray(READ_CHUNK)
        self.service = None         # a service.ProvisionService while an exchange is open

    def feed(self, data):
        for item in self.decoder.feed(data):
            if self.service is None:
                from meldbox.provision.service import CONFIRM_TIMEOUT_MS, ProvisionService  # on demand (above)  # noqa: E501
                self.service = ProvisionService(self.link, self.device,
                                                self.confirm_timeout_ms or CONFIRM_TIMEOUT_MS,
                                                self.max_body)
            self.service.answer(item)

    def settle(self):
        """Finish what waits for the panel; let the service go once nothing does."""
        service = self.service
        if service is None:
            return
        service.tick()
        if service.pending is None:
            self.service = service = None
            heap.unload(ON_DEMAND)

    async def run(self):
        while True:
            n = 0
            try:
                n = self.link.read(self.rx)
                if n:
                    self.feed(memoryview(self.rx)[:n])
                self.settle()
            except Exception as e:      # out of memory, a link error: answer, never die
                fault(self.link, self.max_body, e)
            await asyncio.sleep_ms(0 if n else POLL_MS)


def fault(link, max_body, e):
    """An unexpected exception while serving the link: log it, tell the peer to retry."""
    sys.print_exception(e, sys.stderr)
    gc.collect()
    try:
        body = json.dumps({"id": None, "ok": False, "error": "device-fault", "code": "5.00",
                           "detail": "the device could not answer now (%s); retry"
                           % e.__class__.__name__}).encode()
        framing.write_frame(link.write, body, max_body)
    except Exception:
        pass
