"""Wiring of the appliance: one asyncio task per concern (network endpoint, outbox,
panel, board housekeeping), all on the board interface (boards/README.md)."""
import asyncio
import gc
import time
from binascii import hexlify

from meldbox import VERSION, heap, log_exception
from meldbox.app import config as configuration
from meldbox.app.clock import Clock
from meldbox.app.intake import Intake
from meldbox.app.ledger import Ledger
from meldbox.app.model import PanelIndex, PanelModel
from meldbox.app.outbox import Outbox
from meldbox.app.rejected import Rejected
from meldbox.app.resources import NoticesResource, StatusResource
from meldbox.coap import uri as coap_uri
from meldbox.coap.endpoint import Endpoint
from meldbox.core import cose, ed25519
from meldbox.core.trust import TrustStore
# store/startup.py is bound here through the package only, so that heap.unload frees it
import meldbox.store.startup
from meldbox.store import device, flash, retention
from meldbox.ui import chrome
from meldbox.ui.buttons import Buttons
from meldbox.ui.panel import Panel

MOUNT = "/flash"
ROOT = MOUNT + "/meldbox"
SLOW_VERIFY_MS = 700    # above this, answer CON requests with an empty ACK first
CONTENT_FORMAT_COSE_SIGN1 = 18
# Running, collect after a quarter of the free heap is allocated (at least 8 KiB). Every
# 4 KiB doubled the time to take a notice in (each collection marks the whole heap): 120
# against 48-82 ms a notice, measured at 256K with the firmware from ROM, 2026-12-03.
GC_THRESHOLD_MIN = 8192


class App:
    def __init__(self, board):
        self.board = board
        flash.mount(board.flash(), MOUNT)
        self.index = PanelIndex()
        self.store = meldbox.store.startup.open_store(ROOT, self.index)
        self.config = configuration.apply_provisioning(self.store, board.provisioning())
        self.signing_key = ed25519.SigningKey(device.seed(self.store, board.urandom))
        self.verify_ms = self._self_test()
        self.trust = TrustStore.from_list(self.config["trust"])
        self.clock = Clock(board, self.trust)
        self.ledger = Ledger(self.store, self.signing_key, cose.kid_of(self.signing_key.public),
                             self.config["dev"], self.clock)
        self.rejected = Rejected()
        self.intake = Intake(self.ledger, self.trust, self.clock, self.rejected, self._on_message)
        self.retention = retention.Retention(self.store, self.ledger, self.clock, self.config)
        self.intake.retention = self.retention
        try:                        # a prune a power cut interrupted (the rest of
            retention.finish(self.store)    # compaction runs as a task, after ready)
        except Exception as e:
            log_exception("finishing a prune at boot", e)
        self.mount = MOUNT
        self.endpoint = None
        self.outbox = None
        self.model = PanelModel(
            store=self.store, index=self.index, ledger=self.ledger, clock=self.clock,
            rejected=self.rejected, public_key=self.signing_key.public, mount=MOUNT,
            config=lambda: self.config, trust=lambda: self.trust, links=self._links)
        self.panel = None

    def reconfigure(self, prov):
        """Apply provisioning at run time (serial provisioning, after the panel confirmed)."""
        self.config = configuration.apply_provisioning(self.store, prov)
        self.trust = TrustStore.from_list(self.config["trust"])
        self.intake.trust = self.clock.trust = self.trust
        self.retention.configure(self.config)
        self.ledger.dev = self.config["dev"]
        if self.outbox is not None:
            self.outbox.uris = self.config["receipts"]
        return self.config

    def _self_test(self):
        """Sign and verify once at boot: proves the crypto works on this board and measures
        how long a verify takes here (decides piggybacked vs separate CoAP responses)."""
        msg = b"meldbox power-on self-test"
        sig = self.signing_key.sign(msg)
        t0 = time.ticks_ms()
        ok = ed25519.verify(self.signing_key.public, msg, sig)
        elapsed = time.ticks_diff(time.ticks_ms(), t0)
        if not ok or ed25519.verify(self.signing_key.public, msg + b"!", sig):
            raise RuntimeError("Ed25519 self-test failed")
        return elapsed

    def state(self):
        """Summary carried in `status` receipts."""
        used, total = flash.usage(MOUNT)
        heap.sample()
        return {"fw": VERSION, "active": self.index.count,
                "outbox": self.store.outbox_len, "clock": self.clock.source(),
                "flash_used": used, "flash_total": total,
                "flash_low": retention.flash_low(self.store),
                "heap_used": gc.mem_alloc(), "heap_free": gc.mem_free(), "heap_peak": heap.peak}

    def _links(self):
        """(network up, hotline reached: True, False or None) for the panel's status bar."""
        return (self.endpoint is not None,
                self.outbox.hotline_ok if self.outbox is not None else None)

    def _on_message(self, msg, seq):
        if self.panel is not None:
            event = self.model.message_event(msg)
            if event is not None:
                self.panel.notify_soon(*event)

    async def _send_receipt(self, uri, payload):
        try:
            host, port, path = coap_uri.parse(uri)
            peer = coap_uri.resolve(host, port)
            resp = await self.endpoint.client.request(peer, "POST", path, payload,
                                                      CONTENT_FORMAT_COSE_SIGN1)
        except Exception:   # unreachable, timeout, bad URI: all mean "not delivered yet"
            return False
        return (resp.code >> 5) == 2

    async def settle(self):
        """Let pending input reach the panel and redraw (sim-ctl waits for this)."""
        for _ in range(3):
            await asyncio.sleep_ms(30)
        if self.panel is not None:
            self.panel.refresh()

    async def main(self):
        board = self.board
        link = board.serial()
        if link is not None:
            gc.collect()    # long-lived module objects go to the bottom of a tidy heap
            from meldbox.provision import device as provision
        try:
            sock = board.udp_socket()
        except OSError as e:
            board.ready({"event": "bind-failed", "error": "cannot bind the CoAP socket: %s" % e})
            return
        resources = {
            "/notices": NoticesResource(self.intake, self.state, lambda: self.verify_ms > SLOW_VERIFY_MS),  # noqa: E501
            "/status": StatusResource(self.ledger, self.state, board.ticks_ms, board.urandom),
        }
        # The rate limit is coap/__init__.py's (one definition, per source address).
        self.endpoint = Endpoint(sock, resources, **getattr(board, "coap_timing", {}))
        self.outbox = Outbox(self.store, self._send_receipt, self.config["receipts"])
        self.ledger.listeners.append(self.outbox.poke)
        self.panel = Panel(self.model, board.make_display(chrome.W, chrome.H), board.led, board.buzzer)  # noqa: E501
        tasks = [self.endpoint.run(), self.outbox.run(), self.retention.run(),
                 self.panel.run(Buttons(board.read_buttons), board.ticks_ms)] + board.tasks(self)
        if link is not None:
            tasks.append(provision.run(provision.AppDevice(
                config=lambda: self.config, apply=self.reconfigure, set_time=board.set_time,
                panel=lambda: self.panel, state=self.state, clock=self.clock,
                public_key=self.signing_key.public, board_name=board.name,
                heap_budget=board.heap_budget), link))
        heap.boot_done()
        # Collect often rather than when the heap is full: garbage then never spreads long-
        # lived objects over the whole heap, which keeps free space in large blocks (a
        # datagram's scratch buffer, a littlefs file buffer) on a small heap.
        gc.collect()
        gc.threshold(max(GC_THRESHOLD_MIN, gc.mem_free() // 4))
        host, port = board.address()
        board.ready({"event": "ready", "host": host, "port": port, "dev": self.config["dev"],
                     "device_key": hexlify(self.signing_key.public).decode()})
        await asyncio.gather(*[asyncio.create_task(t) for t in tasks])


def run(board):
    app = App(board)
    heap.unload(("meldbox.store.startup",))     # needed at boot only (one App a process)
    asyncio.run(app.main())
