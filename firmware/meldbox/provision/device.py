"""The provisioning service's view of the running appliance (meldbox.app.main.App).

Needs from the app: `config`, `reconfigure(prov)` (apply_provisioning, then the new trust
anchors, device id and receipt URIs take effect), `state()`, `signing_key`, `clock`,
`board` (`name`, `heap_budget`, `set_time(t)`) and `panel` (`confirm_keys(keys, on_done)`,
`cancel_confirm()`).
"""
import gc
from binascii import hexlify

from meldbox.provision.request import fingerprint
from meldbox.provision.service import NoPanel, ProvisionService


def public_net(net):
    """Network settings as `info` shows them: the Wi-Fi passphrase never leaves the device."""
    out = dict(net or {})
    if "wifi" in out:
        out["wifi"] = {"ssid": out["wifi"].get("ssid"), "psk": "***" if out["wifi"].get("psk") else ""}
    return out


class AppDevice:
    def __init__(self, app):
        self.app = app

    def config(self):
        return self.app.config

    def apply(self, prov):
        return self.app.reconfigure(prov)

    def set_time(self, seconds):
        self.app.board.set_time(seconds)

    def confirm(self, keys, on_done):
        panel = self.app.panel
        if panel is None:
            raise NoPanel("this device has no panel to confirm new keys on")
        panel.confirm_keys(keys, on_done)

    def cancel_confirm(self):
        if self.app.panel is not None:
            self.app.panel.cancel_confirm()

    def info(self):
        app = self.app
        cfg = app.config
        state = app.state()
        public = app.signing_key.public
        return {
            "dev": cfg["dev"], "fw": state["fw"], "board": app.board.name,
            "device_key": hexlify(public).decode(), "fingerprint": fingerprint(public),
            "clock": {"now": app.clock.now(), "source": app.clock.source()},
            "storage": {"used": state["flash_used"], "total": state["flash_total"],
                        "active": state["active"], "outbox": state["outbox"]},
            "heap": {"free": gc.mem_free(), "used": gc.mem_alloc(), "budget": app.board.heap_budget},
            "trust": [{"iss": e["iss"], "fingerprint": fingerprint(e["key"]),
                       "not_after": e.get("not_after"), "revoked": bool(e.get("revoked"))}
                      for e in cfg["trust"]],
            "receipts": dict(cfg["receipts"]), "lang": cfg.get("lang"), "tz": cfg.get("tz"),
            "net": public_net(cfg.get("net")),
        }


def run(app, link):
    """The provisioning task of `app` on `link` (a board's serial())."""
    return ProvisionService(link, AppDevice(app)).run()
