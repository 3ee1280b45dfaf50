"""`meldbox hotline serve`: the hotline's receipt endpoint (PROTOCOL.md 6).

Devices POST each receipt (COSE_Sign1, Content-Format 18) to /receipts. ReceiptServer
verifies it against the pinned key of the device that signed it, follows that device's
chain (protocol.ReceiptChain: a repeat of a held (dev, seq) is acknowledged, not stored
again; a gap or a fork is reported on stderr and kept as a finding, the receipt is kept),
commits it to the ledger (meldbox_host.ledger, `--db`) and only then answers 2.04, so an
acknowledged receipt is never lost. A receipt that cannot be taken (bad signature,
unknown device, malformed) is refused with RFC 9290 problem details and recorded as a
finding too. `--log` also appends one JSON line per new receipt (fsync'd before the 2.04).

Use it in-process (tests, demo) with `await server.start(port=0)` ... `await server.stop()`;
the command prints `{"event": "ready", "port": P}` once listening, then one
`{"event": "receipt", ...}` line per receipt taken and one `{"event": "finding", ...}` per
receipt refused.
"""

import asyncio
import json
import os
import signal
import sys
import time
from collections import namedtuple

import aiocoap
import aiocoap.error
import aiocoap.resource

from meldbox_host import ledger as ledger_mod
from meldbox_host import protocol
from meldbox_host.hotline import send as send_mod
from meldbox_host.hotline import watch as watch_mod
from meldbox_host.hotline import web as web_mod

Answer = namedtuple("Answer", "code payload content_format")
RECEIPTS_PATH = ("receipts",)


class LedgerUnavailable(Exception):
    pass


class Refused(Exception):
    def __init__(self, code, title, detail, reason):
        super().__init__(detail)
        self.code, self.title, self.reason = code, title, reason


class ReceiptServer:
    """Verifies, chains and records receipts from known devices.

    devices: {device id: raw 32-byte public key}. ledger: a meldbox_host.ledger.Ledger
    (its pinned devices are trusted too, and the devices given are pinned in it).
    log_path: JSON-lines file. Receipts already in the ledger or the log are taken back
    into the chains at start, so a restart does not store a repeat again. `entries`
    holds the entries written by this instance."""

    def __init__(self, devices, log_path=None, err=None, out=None, ledger=None, hosters=None):
        self.devices, self._by_kid = {}, {}
        self.ledger = ledger
        self.hosters = dict(hosters or {})
        if ledger is not None:
            for dev, info in ledger.devices().items():
                self._trust(dev, info["pub"])
        for dev, pub in devices.items():
            self.add_device(dev, pub)
        self.log_path = log_path
        self.err = err if err is not None else sys.stderr
        self.out = out  # optional text stream for one event line per receipt
        self.chain = protocol.ReceiptChain()
        self.entries = []
        self.port = None
        self._context = None
        if ledger is not None:
            for _, _, cose in ledger.chain_rows():
                cose = bytes(cose)
                self.chain.add(protocol.peek_claims(cose), cose)
        if log_path and os.path.exists(log_path):
            self._replay(log_path)

    def add_device(self, dev, public_key, hoster=None):
        """Trust receipts from `dev` signed with `public_key` (also while running); with a
        ledger, pin the key there (ledger.PinConflict if it holds another one)."""
        pub = protocol.public_bytes(public_key)
        if self.ledger is not None:
            self.ledger.pin_device(dev, pub, hoster or self.hosters.get(dev))
        self._trust(dev, pub)

    def _trust(self, dev, pub):
        self.devices[dev] = pub
        self._by_kid[protocol.kid_of(pub)] = dev

    # --- the core, without networking ---------------------------------------------------
    def handle(self, payload, content_format):
        """One POST /receipts -> Answer(code, payload, content_format)."""
        try:
            return self._take(payload, content_format)
        except Refused as exc:
            self._refused(exc, payload)
            return Answer(
                exc.code, protocol.encode_problem(exc.title, str(exc)), protocol.CF_PROBLEM_DETAILS
            )
        except LedgerUnavailable as exc:
            # not committed, so not acknowledged: the device keeps it and retries
            print(
                "meldbox hotline serve: ledger write failed: %s" % exc, file=self.err, flush=True
            )
            return Answer(
                aiocoap.SERVICE_UNAVAILABLE,
                protocol.encode_problem("Service Unavailable", "ledger write failed"),
                protocol.CF_PROBLEM_DETAILS,
            )

    def _refused(self, exc, payload):
        """Bad input is shown and kept as a finding, never dropped silently."""
        claims = protocol.peek_claims(payload) or {}
        dev = claims.get("dev") if isinstance(claims.get("dev"), str) else None
        seq = claims.get("seq") if isinstance(claims.get("seq"), int) else None
        kind = exc.reason
        print(
            "meldbox hotline serve: refused a receipt (%s, seq %s): %s" % (dev, seq, exc),
            file=self.err,
            flush=True,
        )
        if self.out is not None:
            print(
                json.dumps(
                    {"event": "finding", "kind": kind, "dev": dev, "seq": seq, "detail": str(exc)}
                ),
                file=self.out,
                flush=True,
            )
        if self.ledger is not None and len(payload) <= protocol.MAX_COSE_BYTES:
            try:
                self.ledger.record_finding(kind, str(exc), dev, seq, payload)
            except Exception as err:  # the refusal stands; say the finding was not kept
                print("meldbox hotline serve: finding not recorded: %s" % err, file=self.err)

    def _take(self, payload, content_format):
        if content_format != protocol.CF_COSE_SIGN1:
            raise Refused(
                aiocoap.UNSUPPORTED_CONTENT_FORMAT,
                "Unsupported Content-Format",
                "receipts are COSE_Sign1, Content-Format 18",
                "content-format",
            )
        if len(payload) > protocol.MAX_COSE_BYTES:
            raise Refused(
                aiocoap.REQUEST_ENTITY_TOO_LARGE,
                "Request Entity Too Large",
                "a receipt is at most %d bytes" % protocol.MAX_COSE_BYTES,
                "too-large",
            )
        dev = self._signer(payload)
        try:
            receipt = protocol.verify_receipt(payload, self.devices[dev])
        except protocol.ReceiptError as exc:
            raise Refused(
                aiocoap.Code(exc.code), _TITLES[exc.code], "%s: %s" % (exc.reason, exc), exc.reason
            ) from None
        if receipt["dev"] != dev:
            raise Refused(
                aiocoap.FORBIDDEN,
                "Forbidden",
                "receipt names device %r but is signed by the key of %r" % (receipt["dev"], dev),
                "wrong-device",
            )
        if receipt["seq"] == 0:
            raise Refused(
                aiocoap.BAD_REQUEST,
                "Bad Request",
                "seq 0 is a status receipt: not part of the chain, not taken here",
                "status-receipt",
            )
        result = self.chain.add(receipt, payload)
        if self.ledger is not None:
            # a repeat is written too (a no-op when held): its first write may have failed
            try:
                self.ledger.record_receipt(receipt, payload, result)
            except Exception as exc:
                raise LedgerUnavailable(str(exc)) from exc
        if result.status != protocol.CHAIN_REPEAT:
            entry = self._entry(receipt, payload, result)
            self._append(entry)
            if result.status != protocol.CHAIN_OK:
                print(
                    "meldbox hotline serve: %s in the chain of %s at seq %d: %s"
                    % (result.status, dev, receipt["seq"], result.detail),
                    file=self.err,
                    flush=True,
                )
        if self.out is not None:
            print(
                json.dumps(
                    {
                        "event": "receipt",
                        "dev": dev,
                        "seq": receipt["seq"],
                        "kind": receipt["kind"],
                        "chain": result.status,
                    }
                ),
                file=self.out,
                flush=True,
            )
        return Answer(aiocoap.CHANGED, b"", None)

    def _signer(self, payload):
        """The device whose key is named by the kid (or, lacking one, by the claimed dev)."""
        try:
            sign1 = protocol.decode_sign1(payload)
        except protocol.ReceiptError as exc:
            raise Refused(
                aiocoap.BAD_REQUEST, "Bad Request", "%s: %s" % (exc.reason, exc), exc.reason
            ) from None
        dev = self._known_signer(sign1, payload)
        if dev is None and self.ledger is not None:
            # pinned since this server started (`hotline send --db` in another process)
            for pinned, info in self.ledger.devices().items():
                self._trust(pinned, info["pub"])
            dev = self._known_signer(sign1, payload)
        if dev is None:
            raise Refused(
                aiocoap.UNAUTHORIZED,
                "Unauthorized",
                "unknown-key: the receipt's key is not one of a known device",
                "unknown-device",
            )
        return dev

    @staticmethod
    def _entry(receipt, cose_bytes, result):
        entry = {
            "dev": receipt["dev"],
            "seq": receipt["seq"],
            "kind": receipt["kind"],
            "iss": receipt.get("iss"),
            "nid": _hex(receipt.get("nid")),
            "nh": _hex(receipt.get("nh")),
            "at": receipt["at"],
            "clock": receipt["clock"],
            "prev": receipt["prev"].hex(),
            "cose": cose_bytes.hex(),
            "chain": result.status,
            "received": int(time.time()),
        }
        for optional in ("reason", "note"):
            if optional in receipt:
                entry[optional] = receipt[optional]
        if result.missing:
            entry["missing"] = result.missing
        if result.detail:
            entry["detail"] = result.detail
        return entry

    def _append(self, entry):
        self.entries.append(entry)
        if self.log_path:
            with open(self.log_path, "a") as f:
                f.write(json.dumps(entry) + "\n")
                f.flush()
                os.fsync(f.fileno())

    def _replay(self, log_path):
        with open(log_path) as f:
            for n, line in enumerate(f, 1):
                try:
                    entry = json.loads(line)
                    cose = bytes.fromhex(entry["cose"])
                    receipt = protocol.peek_claims(cose)
                    self.chain.add(receipt, cose)
                except (ValueError, KeyError, TypeError) as exc:
                    print(
                        "meldbox hotline serve: %s line %d skipped: %s" % (log_path, n, exc),
                        file=self.err,
                    )

    def _known_signer(self, sign1, payload):
        kid = protocol.sign1_kid(sign1)
        if kid is not None:
            return self._by_kid.get(kid)
        claimed = (protocol.peek_claims(payload) or {}).get("dev")
        return claimed if isinstance(claimed, str) and claimed in self.devices else None

    # --- CoAP --------------------------------------------------------------------------------
    async def start(self, host="127.0.0.1", port=0):
        """Listen on UDP (port 0: a free one) -> the port."""
        site = aiocoap.resource.Site()
        site.add_resource(RECEIPTS_PATH, _ReceiptsResource(self))
        site.add_resource(
            (".well-known", "core"), aiocoap.resource.WKCResource(site.get_resources_as_linkheader)
        )
        self._context = await aiocoap.Context.create_server_context(
            site, bind=(host, port), transports=["udp6"]
        )
        self.port = bound_port(self._context) if port == 0 else port
        return self.port

    async def stop(self):
        if self._context is not None:
            await self._context.shutdown()
            self._context = None


_TITLES = {
    protocol.BAD_REQUEST: "Bad Request",
    protocol.UNAUTHORIZED: "Unauthorized",
    protocol.FORBIDDEN: "Forbidden",
}


def _hex(value):
    return value.hex() if isinstance(value, bytes) else None


def bound_port(context):
    # aiocoap has no public accessor for the port a server context got from bind port 0
    # (0.4.17: request interface -> message manager -> UDP6 interface).
    for ri in context.request_interfaces:
        mi = getattr(getattr(ri, "token_interface", None), "message_interface", None)
        if mi is not None and hasattr(mi, "_local_port"):
            return mi._local_port()
    raise RuntimeError("cannot find the UDP port the server is bound to")


class _TooLarge(aiocoap.error.RenderableError):
    def to_message(self):
        msg = aiocoap.Message(
            code=aiocoap.REQUEST_ENTITY_TOO_LARGE,
            payload=protocol.encode_problem(
                "Request Entity Too Large",
                "a receipt is at most %d bytes" % protocol.MAX_COSE_BYTES,
            ),
            content_format=protocol.CF_PROBLEM_DETAILS,
        )
        msg.opt.size1 = protocol.MAX_COSE_BYTES
        return msg


class _ReceiptsResource(aiocoap.resource.Resource):
    ct = protocol.CF_COSE_SIGN1

    def __init__(self, server):
        super().__init__()
        self.server = server

    async def needs_blockwise_assembly(self, request):
        # aiocoap reassembles Block1 without a limit: refuse before it grows past a receipt's bound.  # noqa: E501
        block1, size1 = request.opt.block1, request.opt.size1
        if block1 is not None and (
            block1.start >= protocol.MAX_COSE_BYTES
            or block1.more
            and block1.start + block1.size >= protocol.MAX_COSE_BYTES
        ):
            raise _TooLarge()
        if size1 is not None and size1 > protocol.MAX_COSE_BYTES:
            raise _TooLarge()
        return True

    async def render_post(self, request):
        answer = self.server.handle(request.payload, request.opt.content_format)
        msg = aiocoap.Message(code=answer.code, payload=answer.payload)
        if answer.content_format is not None:
            msg.opt.content_format = answer.content_format
        return msg


# --- command line ----------------------------------------------------------------------------
def add_arguments(p):
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=5683, help="UDP port (0: pick a free one)")
    p.add_argument(
        "--device",
        action="append",
        default=[],
        metavar="DEV=PUBHEX",
        help="a device id and its public key (64 hex digits); repeat for more. "
        "Devices already pinned in the ledger need not be given again",
    )
    p.add_argument(
        "--hoster",
        action="append",
        default=[],
        metavar="DEV=HOSTER",
        help="the hosting provider a device belongs to (default: its id)",
    )
    p.add_argument(
        "--db",
        metavar="PATH|postgresql://...",
        help="the ledger: an SQLite file (created if missing) or a PostgreSQL URL",
    )
    p.add_argument(
        "--log", metavar="FILE.jsonl", help="also append each new receipt as a JSON line"
    )
    p.add_argument(
        "--web",
        metavar="HOST:PORT",
        help="also serve the read-only dashboard there (e.g. 127.0.0.1:8080; needs --db)",
    )
    p.add_argument(
        "--web-token",
        metavar="TOKEN",
        help="needed to bind the dashboard beyond loopback; clients send it as "
        "'Authorization: Bearer TOKEN' or ?token=TOKEN",
    )
    add_watch_arguments(p)


def add_watch_arguments(p):
    p.add_argument(
        "--device-uri",
        action="append",
        default=[],
        metavar="DEV=coap://HOST:PORT",
        help="where a device answers (for re-sends and /status); `hotline send --db` "
        "records it too",
    )
    p.add_argument(
        "--renotify-after",
        type=int,
        default=watch_mod.DEFAULT_RENOTIFY_AFTER,
        metavar="SECONDS",
        help="re-send an overdue notice (no removed receipt) when "
        "it was last sent this long ago (default 24 h; 0: never)",
    )
    p.add_argument(
        "--status-every",
        type=int,
        default=watch_mod.DEFAULT_STATUS_EVERY,
        metavar="SECONDS",
        help="GET each device's /status this often (0: never)",
    )
    p.add_argument(
        "--silent-after",
        type=int,
        default=watch_mod.DEFAULT_SILENT_AFTER,
        metavar="SECONDS",
        help="flag a device not heard from (status or receipt) for this long",
    )
    p.add_argument(
        "--watch-every",
        type=float,
        default=watch_mod.DEFAULT_TICK,
        metavar="SECONDS",
        help="how often to look for overdue notices and silent devices",
    )


def parse_devices(values):
    devices = {}
    for value in values:
        dev, sep, pub_hex = value.partition("=")
        try:
            pub = bytes.fromhex(pub_hex)
        except ValueError:
            pub = b""
        if not sep or not dev or len(pub) != 32:
            raise ValueError("--device %r: expected DEV=PUBHEX (64 hex digits)" % value)
        devices[dev] = pub
    return devices


def parse_pairs(values, flag):
    """['DEV=VALUE', ...] -> {DEV: VALUE}; ValueError naming the flag otherwise."""
    out = {}
    for value in values:
        key, sep, text = value.partition("=")
        if not sep or not key or not text:
            raise ValueError("%s %r: expected DEV=VALUE" % (flag, value))
        out[key] = text
    return out


def run(args):
    try:
        devices = parse_devices(args.device)
        hosters = parse_pairs(args.hoster, "--hoster")
        uris = {
            dev: send_mod.device_base(uri)
            for dev, uri in parse_pairs(args.device_uri, "--device-uri").items()
        }
        if not args.db and not args.log:
            raise ValueError("give --db (the ledger) or --log (a JSON-lines file), or both")
        if not args.db and not devices:
            raise ValueError("give at least one --device (or a --db that has devices pinned)")
        if args.web and not args.db:
            raise ValueError("--web shows the ledger: give --db too")
        web = web_mod.parse_listen(args.web) if args.web else None
        if web and not web_mod.is_loopback(web[0]) and not args.web_token:
            raise ValueError("--web %s is beyond loopback: give --web-token too" % args.web)
    except (ValueError, send_mod.UsageError) as exc:
        print("meldbox hotline serve: %s" % exc, file=sys.stderr)
        return 2
    try:
        asyncio.run(_serve(devices, hosters, uris, web, args))
    except (OSError, ledger_mod.PinConflict) as exc:
        print("meldbox hotline serve: %s" % exc, file=sys.stderr)
        return 1
    return 0


async def _serve(devices, hosters, uris, web, args):
    ledger = ledger_mod.open_ledger(args.db) if args.db else None
    dashboard = None
    try:
        server = ReceiptServer(devices, args.log, out=sys.stdout, ledger=ledger, hosters=hosters)
        for dev, uri in uris.items():
            if dev not in server.devices:
                raise OSError("--device-uri %s: not a known device" % dev)
            if ledger is not None:
                ledger.pin_device(dev, server.devices[dev], uri=uri)
        port = await server.start(args.host, args.port)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        tasks = []
        if ledger is not None:
            watcher = watch_mod.Watcher(
                ledger, args.renotify_after, args.status_every, args.silent_after, out=sys.stdout
            )
            tasks.append(asyncio.ensure_future(watcher.run(args.watch_every, stop)))
        ready = {"event": "ready", "host": args.host, "port": port}
        if web is not None:
            dashboard = web_mod.Dashboard(args.db, web[0], web[1], args.web_token).start()
            ready["web"] = dashboard.url
        print(json.dumps(ready), flush=True)
        try:
            await stop.wait()
            for task in tasks:
                await task
        finally:
            await server.stop()
    finally:
        if dashboard is not None:
            dashboard.stop()
        if ledger is not None:
            ledger.close()
