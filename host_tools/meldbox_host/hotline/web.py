"""The read-only dashboard of `meldbox hotline serve --web HOST:PORT`, from the ledger.

Pages (stdlib http.server in a thread, its own ledger connection; no JS framework):
  /            hosters ranked by time to removal, a time-to-removal histogram per hoster
               (SVG drawn here), and the live part: overdue notices and chain findings,
               fetched from /live every few seconds by a dozen lines of plain JS
  /live        that live part as an HTML fragment
  /report.json the report of `meldbox hotline report --format json`
Loopback binds need nothing more; any other address needs a token (`--web-token`), sent
as `Authorization: Bearer TOKEN` or `?token=TOKEN`.
"""

import hmac
import html
import ipaddress
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from meldbox_host import ledger as ledger_mod
from meldbox_host.hotline.report import duration, percent, utc
from meldbox_host.ledger import stats

LIVE_EVERY_MS = 2000
# histogram buckets of time to removed: upper bounds in seconds, and their labels
BUCKETS = [
    (900, "<15m"),
    (3600, "15m-1h"),
    (4 * 3600, "1-4h"),
    (12 * 3600, "4-12h"),
    (86400, "12-24h"),
    (2 * 86400, "1-2d"),
    (7 * 86400, "2-7d"),
    (None, ">7d"),
]


def is_loopback(host):
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def parse_listen(text):
    """'127.0.0.1:8080' -> ('127.0.0.1', 8080); ValueError otherwise."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise ValueError("--web %r: expected HOST:PORT" % text)
    return host.strip("[]"), int(port)


# --- rendering ---------------------------------------------------------------------------
def e(value):
    return html.escape("-" if value is None else str(value))


def histogram_svg(hoster, times, width=320, height=120):
    """A bar per bucket of time to removed, counts on top; the title names the hoster."""
    counts = [0] * len(BUCKETS)
    for t in times:
        for i, (limit, _) in enumerate(BUCKETS):
            if limit is None or t < limit:
                counts[i] += 1
                break
    top = max(counts) or 1
    bar_w = (width - 20) / len(BUCKETS)
    plot_h = height - 50  # title and counts above, labels below
    parts = [
        '<svg xmlns="http://www.w3.org/2000/svg" class="hist" width="%d" height="%d" '
        'viewBox="0 0 %d %d" role="img" aria-label="time to removed, %s">'
        % (width, height, width, height, e(hoster)),
        '<text x="10" y="12" class="t">%s: %d removed</text>' % (e(hoster), len(times)),
    ]
    for i, ((_, label), n) in enumerate(zip(BUCKETS, counts)):
        h = plot_h * n / top
        x = 10 + i * bar_w
        y = 30 + plot_h - h
        parts.append(
            '<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" class="b"/>'
            % (x + 2, y, bar_w - 4, h)
        )
        if n:
            parts.append('<text x="%.1f" y="%.1f" class="n">%d</text>' % (x + bar_w / 2, y - 2, n))
        parts.append(
            '<text x="%.1f" y="%d" class="l">%s</text>' % (x + bar_w / 2, height - 8, e(label))
        )
    parts.append("</svg>")
    return "".join(parts)


def ranking_html(report):
    rows = []
    for rank, h in enumerate(report["hosters"], 1):
        rows.append(
            "<tr><td>%d</td><td class=hoster>%s</td><td>%s</td><td>%s</td><td>%s</td>"
            "<td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>"
            % (
                rank,
                e(h["hoster"]),
                h["notices"],
                e(duration(h["removed_median_s"])),
                e(duration(h["removed_p90_s"])),
                e(percent(h["removed_in_time_share"])),
                h["removed_n"],
                h["overdue"],
                h["untrusted_clock"],
            )
        )
    return (
        '<table id="ranking"><thead><tr><th>#</th><th>hoster</th><th>notices</th>'
        "<th>removed median</th><th>removed p90</th><th>in time</th><th>removed</th>"
        "<th>overdue</th><th>untrusted clock</th></tr></thead><tbody>%s</tbody></table>"
        % "".join(rows)
    )


def live_html(report):
    overdue = "".join(
        "<tr><td class=hoster>%s</td><td>%s</td><td class=ref>%s</td><td>%s</td><td>%s</td>"
        "<td>%s</td><td>%s</td></tr>"
        % (
            e(o["hoster"]),
            e(o["dev"]),
            e(o["ref"]),
            e(utc(o["deadline"])),
            e(duration(o["overdue_s"])),
            e(o["last"]),
            o["sends"],
        )
        for o in report["overdue"]
    )
    findings = "".join(
        "<tr><td>%s</td><td class=kind>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>"
        % (
            e(utc(f["found"])),
            e(f["kind"]),
            e(f["dev"]),
            e(f["seq"]),
            "open" if f["open"] else "closed",
            e(f["detail"]),
        )
        for f in reversed(report["findings"][-200:])
    )
    return (
        "<p class=stamp>updated %s UTC</p>"
        '<h2>Overdue now (<span id="overdue-count">%d</span>)</h2>'
        '<table id="overdue"><thead><tr><th>hoster</th><th>device</th><th>ref</th>'
        "<th>deadline (UTC)</th><th>overdue by</th><th>last receipt</th><th>sends</th></tr>"
        "</thead><tbody>%s</tbody></table>"
        '<h2>Chain findings (<span id="findings-count">%d</span>)</h2>'
        '<table id="findings"><thead><tr><th>found (UTC)</th><th>kind</th><th>device</th>'
        "<th>seq</th><th>state</th><th>detail</th></tr></thead><tbody>%s</tbody></table>"
        % (
            utc(report["generated"]),
            len(report["overdue"]),
            overdue,
            len(report["findings"]),
            findings,
        )
    )


STYLE = """
body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}
td,th{border-bottom:1px solid #ddd;padding:.25em .6em;text-align:left}
th{background:#f2f2f2}
.plots{display:flex;flex-wrap:wrap;gap:12px}
.hist .b{fill:#c0392b}.hist text{font:10px sans-serif;text-anchor:middle}
.hist .t{text-anchor:start;font-weight:bold}
.stamp{color:#777}
"""

SCRIPT = (
    """
(function(){
  var live=document.getElementById('live');
  function refresh(){
    fetch('live'+location.search,{cache:'no-store'}).then(function(r){
      if(r.ok){return r.text();} throw new Error(r.status);
    }).then(function(t){live.innerHTML=t;live.dataset.loaded='yes';}).catch(function(){});
  }
  refresh(); setInterval(refresh, %d);
})();
"""
    % LIVE_EVERY_MS
)


def page_html(report, facts):
    times = stats.removal_times(facts)
    plots = "".join(
        histogram_svg(h["hoster"], times.get(h["hoster"], [])) for h in report["hosters"]
    )
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        "<title>Meldbox hotline</title><style>%s</style></head><body>"
        "<h1>Meldbox hotline: time to removal per hoster</h1>"
        "<p>Slowest to remove first. Definitions: docs/hotline-statistics.md.</p>"
        "%s<h2>Time to removed, per hoster</h2><div class=plots>%s</div>"
        "<div id=live data-loaded=no><p>loading the overdue list...</p></div>"
        "<script>%s</script></body></html>" % (STYLE, ranking_html(report), plots, SCRIPT)
    )


# --- serving ------------------------------------------------------------------------------
class Dashboard:
    """Start with start(); stop with stop(). `target` is the ledger's path or URL."""

    def __init__(self, target, host="127.0.0.1", port=8080, token=None, clock=time.time):
        if not is_loopback(host) and not token:
            raise ValueError("the dashboard binds %s, beyond loopback: give --web-token" % host)
        self.ledger = ledger_mod.open_ledger(target)
        self.lock = threading.Lock()
        self.token, self.clock = token, clock
        self.httpd = ThreadingHTTPServer((host, port), _handler_for(self))
        self.httpd.daemon_threads = True
        self.host, self.port = host, self.httpd.server_address[1]
        self.thread = None

    @property
    def url(self):
        return "http://%s:%d/" % (
            self.host if ":" not in self.host else "[%s]" % self.host,
            self.port,
        )

    def start(self):
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        if self.thread is not None:
            self.thread.join(10)
        self.ledger.close()

    def render(self, path):
        with self.lock:
            now = int(self.clock())
            facts = stats.collect_facts(self.ledger, now)
            report = stats.build_report(self.ledger, now, facts=facts)
        if path == "/":
            return "text/html; charset=utf-8", page_html(report, facts)
        if path == "/live":
            return "text/html; charset=utf-8", live_html(report)
        if path == "/report.json":
            return "application/json", json.dumps(report, sort_keys=True)
        return None

    def authorised(self, headers, query):
        if self.token is None:
            return True
        given = headers.get("Authorization", "")
        given = given[7:] if given.startswith("Bearer ") else parse_qs(query).get("token", [""])[0]
        return hmac.compare_digest(given.encode(), self.token.encode())


def _handler_for(dashboard):
    class Handler(BaseHTTPRequestHandler):
        server_version = "meldbox-dashboard"

        def do_GET(self):
            parts = urlsplit(self.path)
            if not dashboard.authorised(self.headers, parts.query):
                return self._send(401, "text/plain", "a token is needed (--web-token)")
            try:
                found = dashboard.render(parts.path)
            except Exception as exc:  # a broken ledger shows as 500, the server stays up
                return self._send(500, "text/plain", "cannot read the ledger: %s" % exc)
            if found is None:
                return self._send(404, "text/plain", "not found")
            self._send(200, *found)

        def _send(self, code, ctype, body):
            data = body.encode()
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):  # no access log on stderr
            pass

    return Handler
