"""The provisioning service's view of the running appliance: the narrow interface
(AppDevice) the app hands to it, so provisioning never reaches into App internals."""
import gc
from binascii import hexlify

from meldbox.core.trust import fingerprint
from meldbox.provision.listener import Listener


def public_net(net):
    """Network settings as `info` shows them: the Wi-Fi passphrase never leaves the device."""
    out = dict(net or {})
    if "wifi" in out:
        out["wifi"] = {"ssid": out["wifi"].get("ssid"), "psk": "***" if out["wifi"].get("psk") else ""}  # noqa: E501
    return out


class AppDevice:
    """What provisioning may see and do of the appliance, and nothing more. Each
    argument is a value or a callable the app hands over (meldbox.app.main.App wires it):
    `config()`, `apply(prov)` (the new trust anchors, device id and receipt URIs take
    effect), `set_time(t)`, `panel()` (the Panel or None: `confirm_keys`,
    `cancel_confirm`), `state()` (the status summary), `clock` (`now()`, `source()`),
    `public_key`, `board_name`, `heap_budget`."""

    def __init__(self, *, config, apply, set_time, panel, state, clock, public_key,
                 board_name, heap_budget):
        self.config = config
        self.apply = apply
        self.set_time = set_time
        self._panel = panel
        self._state = state
        self._clock = clock
        self._public = public_key
        self._board_name = board_name
        self._heap_budget = heap_budget

    def confirm(self, rows, on_done):
        """Ask on the panel: `rows` are the new keys and the other changes (service.py)."""
        panel = self._panel()
        if panel is None:
            from meldbox.provision.service import NoPanel  # loaded: a request is being served
            raise NoPanel("this device has no panel to confirm the change on")
        panel.confirm_keys(rows, on_done)

    def cancel_confirm(self):
        panel = self._panel()
        if panel is not None:
            panel.cancel_confirm()

    def info(self):
        cfg = self.config()
        state = self._state()
        public = self._public
        return {
            "dev": cfg["dev"], "fw": state["fw"], "board": self._board_name,
            "device_key": hexlify(public).decode(), "fingerprint": fingerprint(public),
            "clock": {"now": self._clock.now(), "source": self._clock.source()},
            "storage": {"used": state["flash_used"], "total": state["flash_total"],
                        "active": state["active"], "outbox": state["outbox"]},
            "heap": {"free": gc.mem_free(), "used": gc.mem_alloc(), "budget": self._heap_budget},
            "trust": [{"iss": e["iss"], "fingerprint": fingerprint(e["key"]),
                       "not_after": e.get("not_after"), "revoked": bool(e.get("revoked"))}
                      for e in cfg["trust"]],
            "receipts": dict(cfg["receipts"]), "lang": cfg.get("lang"), "tz": cfg.get("tz"),
            "net": public_net(cfg.get("net")),
        }


def run(device, link):
    """The provisioning task for `device` (an AppDevice) on `link` (a board's serial()):
    the listener loads the service for a request and lets it go afterwards."""
    return Listener(link, device).run()
