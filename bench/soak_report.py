"""The soak's figures: @@BENCH lines (bench/run.py's convention), the plot
docs/soak.png, and the soak's section of docs/bench-results.md when run alone
(`make soak`), in the table format bench/run.py writes."""
import datetime
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "bench-results.md"
PLOT = ROOT / "docs" / "soak.png"
SECTION = "## host_soak.py"
MARK = "@@BENCH "
SERIES_POINTS = 12                     # rows over simulated time in the table


def rows(result):
    out = []
    for name, (value, unit, note) in result.figures.items():
        out.append({"name": name, "value": value, "unit": unit, "note": note})
    samples = result.samples
    if samples:
        step = max(1, len(samples) // SERIES_POINTS)
        for s in samples[step - 1::step]:
            largest = "not reported" if s.largest is None else "%d B" % s.largest
            out.append({"name": "day %d: flash / largest block / latency" % round(s.sim_day),
                        "value": round(100 * s.flash_used / s.flash_total, 1), "unit": "%",
                        "note": "%d notices; largest free block %s; intake median %.0f ms, "
                                "max %.0f ms; outbox %d" % (
                                    s.notices, largest, s.latency_ms_median,
                                    s.latency_ms_max, s.outbox)})
    out.append({"name": "soak verdict", "value": "passed" if result.passed else "FAILED",
                "unit": "", "note": "; ".join(result.failures)[:300]})
    return out


def plot(result, path=PLOT):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    s = result.samples
    days = [x.sim_day for x in s]
    fig, (a, b, c) = plt.subplots(3, 1, figsize=(8, 8), sharex=True)
    marks(result, (a, b, c))
    a.plot(days, [100 * x.flash_used / x.flash_total for x in s], color="tab:blue")
    a.axhline(100 * result.config.max_flash_share, color="tab:red", ls="--", lw=1,
              label="limit")
    a.set_ylabel("flash used (%)")
    a.legend(loc="upper left")
    largest = [(x.sim_day, x.largest / 1024) for x in s if x.largest is not None]
    if largest:
        b.plot(*zip(*largest), color="tab:green", label="largest free block")
    else:
        b.text(0.5, 0.5, "largest free block: not reported by the device", ha="center",
               transform=b.transAxes, color="tab:red")
    b.plot(days, [x.heap_free / 1024 for x in s], color="tab:gray", lw=1,
           label="free in total")
    b.axhline(result.config.min_largest_block / 1024, color="tab:red", ls="--", lw=1,
              label="bound (%d bytes)" % result.config.min_largest_block)
    b.set_ylabel("heap (KiB)")
    b.set_ylim(bottom=0)
    b.legend(loc="lower left", fontsize="small")
    busy = [x for x in s if x.latency_ms_max > 0]       # samples after a batch of notices
    c.plot([x.sim_day for x in busy], [x.latency_ms_median for x in busy], color="tab:purple",
           label="median")
    c.plot([x.sim_day for x in busy], [x.latency_ms_max for x in busy], color="tab:orange",
           lw=1, label="max")
    c.set_ylabel("intake latency (ms)")
    c.set_xlabel("simulated day")
    c.legend(loc="upper left", fontsize="small")
    cfg = result.config
    fig.suptitle("Soak: %d notices over a simulated year, %d power cuts, --heap %s (%s)"
                 % (cfg.notices, cfg.power_cuts, cfg.heap,
                    "passed" if result.passed else "FAILED"))
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def marks(result, axes):
    """Power cuts (dotted lines), the hotline outage (shaded), the key rotation (dashed)."""
    off = [d for d, what in result.events if what == "offline"]
    on = [d for d, what in result.events if what == "online"]
    for ax in axes:
        for d, what in result.events:
            if what == "cut":
                ax.axvline(d, color="black", ls=":", lw=0.8)
            elif what == "rotation":
                ax.axvline(d, color="tab:brown", ls="--", lw=0.8)
        if off:
            ax.axvspan(off[0], on[0] if on else off[0] + result.config.offline_days,
                       color="tab:gray", alpha=0.2)
    axes[0].text(0.99, 0.03, "dotted: power cuts; dashed: key rotation; shaded: hotline "
                 "offline", transform=axes[0].transAxes, ha="right", fontsize="small")


def parameters(result):
    c = result.config
    return ("%d notices, %d power cuts, %d removed on the panel, %d in flight, --heap %s, "
            "flash %s, retention %s, seed %d" % (
                c.notices, c.power_cuts, c.staff_actions, c.in_flight, c.heap,
                "%d bytes" % result.samples[-1].flash_total if result.samples else "unknown",
                "%d days" % c.retention_days if c.retention_days else "the device's default",
                c.seed))


def table(rs):
    lines = ["| measure | value | unit | note |", "|---|---|---|---|"]
    for r in rs:
        lines.append("| %s | %s | %s | %s |" % (r["name"], r["value"], r["unit"], r["note"]))
    return lines


def write_section(result, doc=DOC):
    """Replace (or add) the soak's section of docs/bench-results.md."""
    when = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M")
    body = [SECTION, "", "Written by `make soak` on %s UTC; plot: [soak.png](soak.png)." % when,
            "", "Parameters: %s." % parameters(result), ""] + table(rows(result)) + [""]
    text = doc.read_text() if doc.exists() else "# Benchmark results\n\n"
    pattern = re.compile(r"^%s\n.*?(?=^## |\Z)" % re.escape(SECTION), re.M | re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: "\n".join(body) + "\n", text)
    else:
        text = text.rstrip("\n") + "\n\n" + "\n".join(body) + "\n"
    doc.write_text(text)


def emit(result, write_doc=True):
    rs = rows(result)
    for r in rs:
        print(MARK + json.dumps(r), flush=True)
    if result.samples:
        plot(result)
    if write_doc:
        write_section(result)
