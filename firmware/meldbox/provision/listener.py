"""The resident part of provisioning: reads the serial link and cuts it into frames.

The service that answers them (service.py, with request.py, changes.py and the panel's
trust screen) is imported for the first frame and let go again once no request waits
for the panel: about 12 KiB of module objects the heap would otherwise carry for the
months between two provisioning sessions (256K, firmware/README.md "Memory")."""
import asyncio

from meldbox import heap
from meldbox.provision import framing
from meldbox.provision.framing import POLL_MS, READ_CHUNK, fault

# What only a provisioning exchange needs, dropped from sys.modules when it is over.
ON_DEMAND = ("meldbox.provision.service", "meldbox.provision.request",
             "meldbox.provision.changes", "meldbox.ui.screens.trust")


class Listener:
    def __init__(self, link, device, max_body=framing.MAX_BODY):
        self.link = link
        self.device = device        # device.AppDevice
        self.max_body = max_body
        self.decoder = framing.Decoder(max_body)
        self.rx = bytearray(READ_CHUNK)
        self.service = None         # a service.ProvisionService while an exchange is open

    def feed(self, data):
        for item in self.decoder.feed(data):
            if self.service is None:
                from meldbox.provision.service import ProvisionService  # on demand (above)
                self.service = ProvisionService(self.link, self.device, max_body=self.max_body)
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
