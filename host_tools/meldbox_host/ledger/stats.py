"""The naming metric: per hoster and per device, how fast notices are delivered, seen and
removed, from the ledger. Every definition here is written out for people in
docs/hotline-statistics.md; change both together.
"""

import math
from collections import Counter, defaultdict

# A receipt's `at` further than this from what the hotline saw (before the notice was
# sent, or after the receipt arrived) is not believed: the arrival time is used instead.
CLOCK_SLACK_S = 300
CLOSING = ("removed", "not-ours", "disputed", "cannot-comply", "withdrawn")
ANSWERS = ("not-ours", "disputed", "cannot-comply")
PHASES = ("delivered", "seen", "removed")


def quantile(values, q):
    """Nearest-rank quantile (the smallest value with at least q of the values at or
    below it), or None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def event_time(receipt, sent_at):
    """(POSIX time of the event, trusted?) for a receipt about a notice sent at sent_at."""
    at, received = receipt["at"], receipt["received"]
    if receipt["clock"] == "untrusted":
        return received, False
    if at < sent_at - CLOCK_SLACK_S or at > received + CLOCK_SLACK_S:
        return received, False
    return at, True


class NoticeFacts:
    """What the ledger says about one notice: first receipt of each kind, times, state."""

    def __init__(self, message, receipts, withdrawn_at, now):
        self.message = message
        self.sent_at = message["sent_at"]
        self.first = {}
        for r in sorted(receipts, key=lambda r: r["seq"]):
            self.first.setdefault(r["kind"], r)
        self.untrusted = False
        self.times = {}
        for kind, r in self.first.items():
            when, trusted = event_time(r, self.sent_at)
            self.times[kind] = when
            self.untrusted |= not trusted
        delivered = self.times.get("delivered")
        if message["due"] is not None:
            self.deadline = message["due"]
        elif message["within"] is not None and delivered is not None:
            self.deadline = delivered + message["within"]
        else:
            self.deadline = None  # a `within` notice not yet delivered: its clock has not started
        removed = self.times.get("removed")
        # a withdrawal counts only if it came before the removal
        self.withdrawn = withdrawn_at is not None and (removed is None or withdrawn_at < removed)
        self.closed = self.withdrawn or any(k in self.first for k in CLOSING)
        self.overdue = not self.closed and self.deadline is not None and self.deadline < now
        self.decided = (
            not self.withdrawn
            and self.deadline is not None
            and (removed is not None or self.deadline < now)
        )
        self.in_time = (
            removed is not None and self.deadline is not None and removed <= self.deadline
        )

    def duration(self, phase):
        when = self.times.get(phase)
        return None if when is None else max(0, when - self.sent_at)


def summarise(facts):
    """Figures for a group of NoticeFacts (a hoster's, a device's)."""
    counted = [f for f in facts if not f.withdrawn]
    out = {"notices": len(facts), "withdrawn": len(facts) - len(counted)}
    for phase in PHASES:
        values = [f.duration(phase) for f in counted if f.duration(phase) is not None]
        out["%s_n" % phase] = len(values)
        out["%s_median_s" % phase] = quantile(values, 0.5)
        out["%s_p90_s" % phase] = quantile(values, 0.9)
    decided = [f for f in counted if f.decided]
    out["decided"] = len(decided)
    out["removed_in_time"] = sum(1 for f in decided if f.in_time)
    out["removed_in_time_share"] = _share(out["removed_in_time"], len(decided))
    for kind in ANSWERS:
        answered = [f for f in counted if kind in f.first]
        key = kind.replace("-", "_")
        out[key] = len(answered)
        out[key + "_share"] = _share(len(answered), len(counted))
        field = "reason" if kind == "cannot-comply" else "note"
        out[key + "_reasons"] = dict(
            Counter(f.first[kind].get(field) or "(none given)" for f in answered)
        )
    out["overdue"] = sum(1 for f in counted if f.overdue)
    out["untrusted_clock"] = sum(1 for f in counted if f.untrusted)
    return out


def _share(part, whole):
    return None if not whole else round(part / whole, 4)


def collect_facts(ledger, now, since=None, hoster=None):
    """NoticeFacts for every notice sent (since `since`, of `hoster`)."""
    messages = ledger.messages(since=since, hoster=hoster)
    notices = [m for m in messages if m["t"] == "notice"]
    # withdraws may be sent after `since`: look them up without the filter
    withdrawn_at = {}
    for m in ledger.messages(hoster=hoster):
        if m["t"] == "withdraw" and m["target"] is not None:
            key = (m["iss"], m["target"])
            withdrawn_at[key] = min(m["sent_at"], withdrawn_at.get(key, m["sent_at"]))
    by_notice = defaultdict(list)
    for r in ledger.receipts():
        if r["nid"] is not None:
            by_notice[(r["iss"], r["nid"])].append(r)
    return [
        NoticeFacts(
            m, by_notice.get((m["iss"], m["id"]), []), withdrawn_at.get((m["iss"], m["id"])), now
        )
        for m in notices
    ]


def removal_times(facts):
    """{hoster: sorted times to removed (s)} of the notices not withdrawn."""
    out = {}
    for f in facts:
        times = out.setdefault(f.message["hoster"], [])
        if not f.withdrawn and f.duration("removed") is not None:
            times.append(f.duration("removed"))
    return {h: sorted(v) for h, v in out.items()}


def build_report(ledger, now, since=None, hoster=None, facts=None):
    """The whole report as plain data (what --format json prints)."""
    if facts is None:
        facts = collect_facts(ledger, now, since, hoster)
    per_hoster, per_device = defaultdict(list), defaultdict(list)
    for f in facts:
        per_hoster[f.message["hoster"]].append(f)
        per_device[(f.message["hoster"], f.message["dev"])].append(f)
    devices_seen = {dev for _, dev in per_device}
    findings = [
        f for f in ledger.findings(since=since) if hoster is None or f["dev"] in devices_seen
    ]
    finding_counts = defaultdict(Counter)
    for f in findings:
        finding_counts[f["dev"]][f["kind"]] += 1
    gaps = ledger.open_gaps()
    for f in findings:
        # a gap closes when its missing receipts arrive (late, or out of order); the
        # finding stays on record, marked closed
        f["open"] = f["kind"] != "gap" or any(s < f["seq"] for s in gaps.get(f["dev"], ()))
    hosters = []
    for name, group in per_hoster.items():
        row = dict(hoster=name, devices=len({f.message["dev"] for f in group}), **summarise(group))
        row["findings"] = sum(
            sum(finding_counts[d].values()) for (h, d) in per_device if h == name
        )
        hosters.append(row)
    hosters.sort(key=_ranking)
    devices = []
    for (name, dev), group in sorted(per_device.items()):
        row = dict(hoster=name, dev=dev, **summarise(group))
        row["findings"] = dict(finding_counts[dev])
        row["missing_seqs"] = len(gaps.get(dev, []))
        devices.append(row)
    overdue = sorted((f for f in facts if f.overdue), key=lambda f: f.deadline)
    return {
        "generated": now,
        "since": since,
        "hoster": hoster,
        "hosters": hosters,
        "devices": devices,
        "overdue": [
            {
                "hoster": f.message["hoster"],
                "dev": f.message["dev"],
                "iss": f.message["iss"],
                "id": f.message["id"].hex(),
                "ref": f.message["ref"],
                "deadline": f.deadline,
                "overdue_s": now - f.deadline,
                "last": max(f.first, key=lambda k: f.first[k]["seq"]) if f.first else "sent",
                "sends": f.message["sends"],
            }
            for f in overdue
        ],
        "findings": [dict(f) for f in findings],
        "open_gaps": {
            dev: seqs for dev, seqs in gaps.items() if hoster is None or dev in devices_seen
        },
        "checkpoints": [
            c for c in ledger.checkpoints() if hoster is None or c["dev"] in devices_seen
        ],
    }


def _ranking(row):
    """Slowest first: median time to removed (none removed ranks slowest), then p90."""
    median = row["removed_median_s"]
    p90 = row["removed_p90_s"]
    return (median is not None, -(median or 0), -(p90 or 0), row["hoster"])
