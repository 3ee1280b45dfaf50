"""Which parts of a checked provisioning request, besides new keys (request.new_anchors),
need a press on the panel, as rows the panel and the host show. Its own module, imported
at the first provisioning request: the boot heap has no bytes to spare (256K)."""
from meldbox.core.trust import fingerprint


def _narrowed(current, entries):
    """Trusted keys this request revokes, shortens or drops (config.apply_provisioning
    replaces every key of an issuer it names): rows for the panel, so that a serial peer
    cannot quietly take away the keys notices are checked with either."""
    out = []
    named = set(e["iss"] for e in entries)
    for c in current:
        if c["iss"] not in named:
            continue
        key = bytes(c["key"])
        new = None
        for e in entries:
            if e["iss"] == c["iss"] and e["key"] == key:
                new = e
                break
        if new is None:
            change = "removed"
        elif new["revoked"] and not c.get("revoked"):
            change = "revoked"
        elif new["not_after"] != c.get("not_after") and not new["revoked"]:
            change = "not_after"
        else:
            continue
        out.append({"field": "trust", "iss": c["iss"], "fingerprint": fingerprint(key),
                    "change": change, "not_after": new and new["not_after"]})
    return out


def guarded(cfg, prov, when):
    """What of a checked request needs a press on the panel besides new keys:
    whatever changes what the device trusts, whom it reports to, or its clock. Setting
    the clock back would revive expired keys; `dev` and the receipt URIs redirect
    receipts; `net` picks the DNS and NTP servers. lang and tz only change how the
    panel shows things and stay without a press. Rows as the panel shows them."""
    out = []
    if "dev" in prov and prov["dev"] != cfg["dev"]:
        out.append({"field": "dev", "old": cfg["dev"], "new": prov["dev"]})
    if "trust" in prov:
        out.extend(_narrowed(cfg["trust"], prov["trust"]))
    for iss, uri in sorted(prov.get("receipts", {}).items()):
        old = cfg["receipts"].get(iss)
        if uri != old:
            out.append({"field": "receipts", "iss": iss, "old": old, "new": uri})
    if "net" in prov and prov["net"] != cfg.get("net"):
        net = prov["net"]
        shown = "dhcp" if net["dhcp"] else "%s gw %s" % (net["ip"], net["gw"])
        for k in ("dns", "ntp"):
            if k in net:
                shown += " %s %s" % (k, net[k])
        if "wifi" in net:
            shown += " wifi %s" % net["wifi"]["ssid"]     # the passphrase stays off the panel
        out.append({"field": "net", "new": shown})
    if when is not None:
        out.append({"field": "time", "new": when})
    return out
