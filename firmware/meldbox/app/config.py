"""Device configuration (kept on flash by store/device.py), and applying provisioning to it.

Provisioning (the simulator's flags, or the serial provisioning tool) replaces what it
names and keeps the rest: trusted keys are replaced per issuer, receipt URIs per issuer.
"""
from binascii import unhexlify

from meldbox.core.trust import small_order
from meldbox.store import device

DEFAULTS = {"dev": "meldbox-unprovisioned", "trust": [], "receipts": {}, "lang": "en", "tz": "CET",
            "net": {}}


def current(store):
    config = dict(DEFAULTS)
    config.update(device.config(store))
    return config


def _key_entry(entry):
    key = entry["key"]
    if isinstance(key, str):
        key = unhexlify(key)
    if len(key) != 32 or not isinstance(entry["iss"], str):
        raise ValueError("trusted key of %r is not a 32-byte Ed25519 key" % entry.get("iss"))
    if small_order(key):
        raise ValueError("trusted key of %r is a small-order point: anyone could sign for it"
                         % entry["iss"])
    out = {"iss": entry["iss"], "key": bytes(key), "not_after": entry.get("not_after"),
           "revoked": bool(entry.get("revoked", False))}
    days = entry.get("retention_days")      # store/retention.py; default 90
    if days is not None:
        if type(days) is not int or not 1 <= days <= 36500:
            raise ValueError("retention_days of %r must be 1..36500" % entry["iss"])
        out["retention_days"] = days
    return out


def apply_provisioning(store, prov):
    """Merge a provisioning dict into the stored configuration; returns the new config."""
    config = current(store)
    if not prov:
        return config
    if "dev" in prov:
        config["dev"] = prov["dev"]
    if "trust" in prov:
        new = [_key_entry(e) for e in prov["trust"]]
        named = set(e["iss"] for e in new)
        config["trust"] = [e for e in config["trust"] if e["iss"] not in named] + new
    if "receipts" in prov:
        uris = dict(config["receipts"])
        uris.update(prov["receipts"])
        config["receipts"] = uris
    for field in ("lang", "tz", "net"):     # network settings take effect at the next start
        if field in prov:
            config[field] = prov[field]
    device.save_config(store, config)
    return config
