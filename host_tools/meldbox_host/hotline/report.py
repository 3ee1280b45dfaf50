"""`meldbox hotline report`: per hoster and per device, from the ledger: notices sent, time
to delivered / seen / removed (median and p90), share removed within the deadline,
answers (not ours, disputed, cannot comply, with reasons), notices overdue now and chain
findings. Definitions: docs/hotline-statistics.md.
"""

import argparse
import csv
import datetime
import io
import json
import re
import sys
import time

from meldbox_host import ledger as ledger_mod
from meldbox_host.ledger import stats

FORMATS = ("table", "csv", "json")
STAT_COLUMNS = [
    "notices",
    "withdrawn",
    "delivered_median_s",
    "delivered_p90_s",
    "seen_median_s",
    "seen_p90_s",
    "removed_n",
    "removed_median_s",
    "removed_p90_s",
    "decided",
    "removed_in_time_share",
    "not_ours_share",
    "disputed_share",
    "cannot_comply_share",
    "overdue",
    "untrusted_clock",
]


def add_arguments(p):
    p.add_argument("--db", required=True, metavar="PATH|postgresql://...", help="the ledger")
    p.add_argument(
        "--since",
        type=parse_since,
        metavar="WHEN",
        help="only notices sent since: POSIX seconds, YYYY-MM-DD[THH:MM] (UTC), "
        "or an age such as 7d or 12h",
    )
    p.add_argument("--hoster", metavar="NAME", help="only this hoster")
    p.add_argument("--format", choices=FORMATS, default="table")
    # the report's "now", for reproducible tests and demos
    p.add_argument("--now", type=int, help=argparse.SUPPRESS)


def parse_since(text, now=None):
    now = time.time() if now is None else now
    m = re.fullmatch(r"(\d+)([dhm])", text)
    if m:
        return int(now) - int(m.group(1)) * {"d": 86400, "h": 3600, "m": 60}[m.group(2)]
    if text.isdigit():
        return int(text)
    try:
        when = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError("not a time") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.UTC)
    return int(when.timestamp())


parse_since.__name__ = "time"


def run(args):
    try:
        ledger = ledger_mod.open_ledger(args.db)
    except Exception as exc:  # sqlite3/psycopg errors: say which ledger, not a traceback
        print(
            "meldbox hotline report: cannot open ledger %s: %s" % (args.db, exc), file=sys.stderr
        )
        return 1
    try:
        now = int(time.time()) if args.now is None else args.now
        report = stats.build_report(ledger, now, since=args.since, hoster=args.hoster)
    finally:
        ledger.close()
    sys.stdout.write(render(report, args.format))
    return 0


def render(report, fmt):
    if fmt == "json":
        return json.dumps(report, indent=2, sort_keys=True) + "\n"
    if fmt == "csv":
        return render_csv(report)
    return render_table(report)


def render_csv(report):
    """Three CSV tables separated by a blank line: figures (per hoster, then per device),
    overdue notices, findings."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["scope", "hoster", "dev"] + STAT_COLUMNS + ["reasons"])
    for scope, rows in (("hoster", report["hosters"]), ("device", report["devices"])):
        for row in rows:
            w.writerow(
                [scope, row["hoster"], row.get("dev", "")]
                + [_csv_value(row[c]) for c in STAT_COLUMNS]
                + [json.dumps(_reasons(row))]
            )
    out.write("\n")
    w.writerow(["overdue_hoster", "dev", "ref", "id", "deadline", "overdue_s", "last", "sends"])
    for o in report["overdue"]:
        w.writerow(
            [
                o["hoster"],
                o["dev"],
                o["ref"],
                o["id"],
                o["deadline"],
                o["overdue_s"],
                o["last"],
                o["sends"],
            ]
        )
    out.write("\n")
    w.writerow(["finding_id", "found", "kind", "dev", "seq", "open", "detail"])
    for f in report["findings"]:
        w.writerow(
            [f["id"], f["found"], f["kind"], f["dev"], f["seq"], int(f["open"]), f["detail"]]
        )
    return out.getvalue()


def _csv_value(value):
    return "" if value is None else value


def _reasons(row):
    return {
        k: row[k + "_reasons"]
        for k in ("not_ours", "disputed", "cannot_comply")
        if row[k + "_reasons"]
    }


def duration(seconds):
    """1234 -> '20m34s'; None -> '-'."""
    if seconds is None:
        return "-"
    seconds = int(seconds)
    if seconds < 60:
        return "%ds" % seconds
    if seconds < 3600:
        return "%dm%02ds" % divmod(seconds, 60)
    if seconds < 86400:
        return "%dh%02dm" % (seconds // 3600, seconds % 3600 // 60)
    return "%dd%02dh" % (seconds // 86400, seconds % 86400 // 3600)


def percent(share):
    return "-" if share is None else "%d%%" % round(share * 100)


def utc(posix):
    return datetime.datetime.fromtimestamp(posix, datetime.UTC).strftime("%Y-%m-%d %H:%M")


def _table(headers, rows):
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows)]
    line = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    return "\n".join([line(headers), line(["-" * w for w in widths])] + [line(r) for r in rows])


def _med_p90(row, phase):
    return "%s / %s" % (duration(row[phase + "_median_s"]), duration(row[phase + "_p90_s"]))


def _figures(row, first):
    return first + [
        row["notices"],
        _med_p90(row, "delivered"),
        _med_p90(row, "seen"),
        _med_p90(row, "removed"),
        percent(row["removed_in_time_share"]),
        percent(row["not_ours_share"]),
        percent(row["disputed_share"]),
        percent(row["cannot_comply_share"]),
        row["overdue"],
        row["untrusted_clock"],
    ]


FIGURE_HEADERS = [
    "notices",
    "delivered med/p90",
    "seen med/p90",
    "removed med/p90",
    "in time",
    "not ours",
    "disputed",
    "cannot",
    "overdue",
    "untrusted clock",
]


def render_table(report):
    parts = [
        "Meldbox hotline report, %s UTC%s%s"
        % (
            utc(report["generated"]),
            ", notices sent since %s UTC" % utc(report["since"]) if report["since"] else "",
            ", hoster %s" % report["hoster"] if report["hoster"] else "",
        )
    ]
    parts.append("\nPer hoster (slowest to remove first):")
    parts.append(
        _table(
            ["hoster", "devices"] + FIGURE_HEADERS,
            [_figures(r, [r["hoster"], r["devices"]]) for r in report["hosters"]],
        )
        if report["hosters"]
        else "  no notices"
    )
    parts.append("\nPer device:")
    parts.append(
        _table(
            ["hoster", "device"] + FIGURE_HEADERS + ["missing seqs"],
            [
                _figures(r, [r["hoster"], r["dev"]]) + [r["missing_seqs"]]
                for r in report["devices"]
            ],
        )
        if report["devices"]
        else "  no notices"
    )
    reasons = [
        (r["hoster"], kind, text, n)
        for r in report["hosters"]
        for kind, texts in _reasons(r).items()
        for text, n in sorted(texts.items())
    ]
    if reasons:
        parts.append("\nAnswers with reasons:")
        parts.append(_table(["hoster", "answer", "reason", "notices"], reasons))
    parts.append("\nOverdue now (%d, oldest deadline first):" % len(report["overdue"]))
    if report["overdue"]:
        parts.append(
            _table(
                [
                    "hoster",
                    "device",
                    "ref",
                    "deadline (UTC)",
                    "overdue by",
                    "last receipt",
                    "sends",
                ],
                [
                    [
                        o["hoster"],
                        o["dev"],
                        o["ref"],
                        utc(o["deadline"]),
                        duration(o["overdue_s"]),
                        o["last"],
                        o["sends"],
                    ]
                    for o in report["overdue"]
                ],
            )
        )
    parts.append(
        "\nChain findings (%d, %d open):"
        % (len(report["findings"]), sum(f["open"] for f in report["findings"]))
    )
    if report["findings"]:
        parts.append(
            _table(
                ["found (UTC)", "kind", "device", "seq", "state", "detail"],
                [
                    [
                        utc(f["found"]),
                        f["kind"],
                        f["dev"] or "-",
                        f["seq"] or "-",
                        "open" if f["open"] else "closed",
                        f["detail"][:80],
                    ]
                    for f in report["findings"]
                ],
            )
        )
    if report["open_gaps"]:
        parts.append(
            "Receipts never received (seqs): "
            + "; ".join(
                "%s %s" % (dev, _ranges(seqs)) for dev, seqs in sorted(report["open_gaps"].items())
            )
        )
    if report["checkpoints"]:
        parts.append(
            "Checkpoints: "
            + "; ".join(
                "%s seq %d pruned up to %d (%s)" % (c["dev"], c["seq"], c["pseq"], c["link"])
                for c in report["checkpoints"]
            )
        )
    return "\n".join(parts) + "\n"


def _ranges(seqs):
    from meldbox_host import protocol

    return protocol._ranges(seqs)
