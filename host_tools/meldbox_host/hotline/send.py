"""`meldbox hotline send` and `meldbox hotline status`: sign a notice, withdraw or ping
with pycose, POST it to a device's /notices with aiocoap (CON, Content-Format 18; aiocoap
does Block1 for large payloads), and print the answer as one line of JSON: the verified
receipt fields, or the problem details of a refusal.

Exit status: 0 a 2.xx answer (with a receipt that verified, when --device-key is given),
1 an error answer, 2 bad usage, 3 no answer (timeout or network error), 4 a receipt that
does not verify or does not answer the message sent.
"""

import asyncio
import contextlib
import json
import sys
import time
from collections import namedtuple
from urllib.parse import urlsplit

import aiocoap

from meldbox_host import protocol

DEFAULT_TIMEOUT_S = 30.0
EXIT_OK, EXIT_ERROR_ANSWER, EXIT_USAGE, EXIT_NO_ANSWER, EXIT_BAD_RECEIPT = 0, 1, 2, 3, 4

Reply = namedtuple("Reply", "code content_format payload max_age size1")


class UsageError(Exception):
    pass


class NoAnswer(Exception):
    pass


# --- CoAP ------------------------------------------------------------------------------
def device_base(uri):
    """'coap://host:port' (a trailing '/' is fine) -> the same, normalised; UsageError else."""
    parts = urlsplit(uri)
    if (
        parts.scheme != "coap"
        or not parts.hostname
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
    ):
        raise UsageError("--device %r: expected coap://HOST[:PORT]" % uri)
    return "coap://%s" % parts.netloc


async def coap_request(
    uri,
    method=aiocoap.POST,
    payload=b"",
    content_format=None,
    timeout=DEFAULT_TIMEOUT_S,
    context=None,
):
    """One CON request -> Reply; NoAnswer on timeout or network error. Uses `context`
    (an aiocoap client context) when given, else a fresh one for this request."""
    async with _client(context) as ctx:
        resp = await _exchange(ctx, uri, method, payload, content_format, None, timeout)
        return _reply(resp)


async def post_notice(device_uri, cose_bytes, timeout=DEFAULT_TIMEOUT_S, context=None):
    """POST signed bytes to DEVICE/notices -> Reply."""
    return await coap_request(
        device_base(device_uri) + "/notices",
        aiocoap.POST,
        cose_bytes,
        protocol.CF_COSE_SIGN1,
        timeout,
        context,
    )


async def get_status(device_uri, timeout=DEFAULT_TIMEOUT_S, context=None):
    """GET DEVICE/status -> Reply. The device answers a request without a valid Echo
    with 4.01 and an Echo value (PROTOCOL.md 5, RFC 9175); the request is repeated once
    with it, which proves that we receive at our address."""
    uri = device_base(device_uri) + "/status"
    async with _client(context) as ctx:
        echo = None
        for _ in range(2):
            resp = await _exchange(ctx, uri, aiocoap.GET, b"", None, echo, timeout)
            echo = resp.opt.echo
            if resp.code != aiocoap.UNAUTHORIZED or not echo:
                break
        return _reply(resp)


@contextlib.asynccontextmanager
async def _client(context):
    """`context` when given, else a fresh client context shut down afterwards."""
    if context is not None:
        yield context
        return
    ctx = await aiocoap.Context.create_client_context(transports=["udp6"])
    try:
        yield ctx
    finally:
        await ctx.shutdown()


async def _exchange(ctx, uri, method, payload, content_format, echo, timeout):
    """Send one CON request and wait for its response; NoAnswer on timeout or error."""
    msg = aiocoap.Message(
        code=method, uri=uri, payload=payload, transport_tuning=aiocoap.Reliable()
    )
    if content_format is not None:
        msg.opt.content_format = content_format
    if echo is not None:
        msg.opt.echo = echo
    try:
        return await asyncio.wait_for(ctx.request(msg).response, timeout)
    except TimeoutError:
        raise NoAnswer("no answer from %s within %g s" % (uri, timeout)) from None
    except aiocoap.error.Error as exc:
        raise NoAnswer("no answer from %s: %s" % (uri, exc)) from None


def _reply(resp):
    cf = resp.opt.content_format
    return Reply(
        resp.code.dotted,
        None if cf is None else int(cf),
        resp.payload,
        resp.opt.max_age,
        resp.opt.size1,
    )


# --- what came back ------------------------------------------------------------------------
def describe_reply(reply, device_key=None, sent=None, sent_id=None):
    """A Reply -> (JSON-ready dict, exit status). With `sent` (the bytes posted) a
    verified receipt must also name that message (nh, and nid when `sent_id` is known)."""
    out = {"code": reply.code, "content_format": reply.content_format}
    if reply.max_age is not None:
        out["max_age"] = reply.max_age
    if reply.size1 is not None:
        out["size1"] = reply.size1
    success = reply.code.startswith("2.")
    status = EXIT_OK if success else EXIT_ERROR_ANSWER
    if reply.content_format == protocol.CF_PROBLEM_DETAILS:
        try:
            out["problem"] = protocol.jsonable(protocol.decode_problem(reply.payload))
        except protocol.ProblemDetailsError as exc:
            out["problem_error"] = str(exc)
            out["payload_hex"] = reply.payload.hex()
    elif reply.content_format == protocol.CF_COSE_SIGN1 and success:
        status = _describe_receipt(out, reply.payload, device_key, sent, sent_id)
    elif reply.payload:
        out["payload_hex"] = reply.payload.hex()
    return out, status


def _describe_receipt(out, cose_bytes, device_key, sent, sent_id):
    out["receipt_cose"] = cose_bytes.hex()
    if device_key is None:
        claims = protocol.peek_claims(cose_bytes)
        out["receipt"] = protocol.jsonable(claims) if claims is not None else None
        out["verified"] = False
        out["note"] = "unverified: no --device-key given"
        return EXIT_OK
    try:
        receipt = protocol.verify_receipt(cose_bytes, device_key)
    except protocol.ReceiptError as exc:
        out["verified"] = False
        out["error"] = "%s: %s" % (exc.reason, exc)
        claims = protocol.peek_claims(cose_bytes)
        out["receipt"] = protocol.jsonable(claims) if claims is not None else None
        return EXIT_BAD_RECEIPT
    out["receipt"] = protocol.jsonable(receipt)
    out["verified"] = True
    if sent is not None:
        out["answers_request"] = protocol.receipt_answers(receipt, sent, sent_id)
        if not out["answers_request"]:
            out["error"] = "the receipt names another message (nid/nh)"
            return EXIT_BAD_RECEIPT
    return EXIT_OK


# --- command line ---------------------------------------------------------------------------
def _add_common(p):
    p.add_argument("--device", required=True, metavar="URI", help="coap://HOST:PORT of the device")
    p.add_argument(
        "--device-key",
        type=_hex_bytes(32),
        metavar="HEX",
        help="the device's public key (64 hex digits): verify its receipt",
    )
    p.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S, metavar="SECONDS")


def add_arguments(p):
    _add_common(p)
    p.add_argument("--key", metavar="FILE", help="issuer key file (meldbox hotline keygen)")
    p.add_argument("--aud", metavar="DEVICE_ID", help="the device id the message is for")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument(
        "--withdraw", type=_hex_bytes(), metavar="IDHEX", help="withdraw that notice"
    )
    mode.add_argument("--ping", action="store_true", help="send a ping (answer: a status receipt)")
    mode.add_argument("--raw", metavar="FILE", help="send the exact bytes of FILE")
    deadline = p.add_mutually_exclusive_group()
    deadline.add_argument("--due", type=int, metavar="POSIX", help="removal deadline")
    deadline.add_argument("--due-in", type=int, metavar="SECONDS", help="deadline = iat + SECONDS")
    deadline.add_argument(
        "--within",
        type=int,
        metavar="SECONDS",
        help="deadline = SECONDS after the device received it",
    )
    p.add_argument("--cat", choices=protocol.CATEGORIES)
    p.add_argument("--basis", metavar="TEXT", help='legal basis, e.g. "NL NTD code"')
    p.add_argument("--ref", metavar="TEXT", help="your case reference")
    p.add_argument(
        "--url", action="append", default=[], help="an item's URL (repeat for more items)"
    )
    p.add_argument(
        "--ip",
        action="append",
        default=[],
        help="the address the n-th --url was seen on (in --url order)",
    )
    p.add_argument(
        "--sha256",
        action="append",
        default=[],
        type=_hex_bytes(32),
        metavar="HEX",
        help="SHA-256 of the n-th --url's material (in --url order)",
    )
    p.add_argument("--note", help="at most 280 characters")
    p.add_argument("--lang", help="language of --note (BCP 47)")
    p.add_argument("--contact")
    p.add_argument("--redress")
    p.add_argument("--nodisclose", action="store_true", help="the customer must not be told")
    p.add_argument("--preserve", type=int, metavar="POSIX", help="keep evidence until then")
    p.add_argument("--test", action="store_true", help="a drill: marked TEST everywhere")
    p.add_argument("--replaces", type=_hex_bytes(), metavar="IDHEX", help="updates that notice")
    p.add_argument(
        "--id", type=_hex_bytes(), metavar="IDHEX", help="message id (default: random 16 bytes)"
    )
    p.add_argument("--iat", type=int, metavar="POSIX", help="issued-at (default: now)")
    p.add_argument("--save-cose", metavar="FILE", help="also write the signed bytes to FILE")
    p.add_argument(
        "--db",
        metavar="PATH|postgresql://...",
        help="record what was sent and the receipt that came back in this ledger "
        "(the device key pinned there verifies the receipt if --device-key "
        "is not given)",
    )
    p.add_argument("--hoster", metavar="NAME", help="the hosting provider the device belongs to")


def add_status_arguments(p):
    _add_common(p)


def _hex_bytes(size=None):
    def parse(text):
        try:
            value = bytes.fromhex(text)
        except ValueError:
            raise ValueError("not hex") from None
        if not value or size is not None and len(value) != size:
            raise ValueError("wrong length")
        return value

    parse.__name__ = "%d-byte hex" % size if size else "hex"
    return parse


def build_message(args):
    """The bytes to send and the message id (None for --raw), from parsed arguments."""
    if args.raw:
        with open(args.raw, "rb") as f:
            return f.read(), None
    if not args.key or not args.aud:
        raise UsageError("--key and --aud are needed (or --raw FILE)")
    try:
        key = protocol.load_key(args.key)
    except protocol.KeyFileError as exc:
        raise UsageError(str(exc)) from None
    if args.ping:
        claims = protocol.build_ping(key.iss, args.aud, id=args.id, iat=args.iat)
    elif args.withdraw:
        claims = protocol.build_withdraw(
            key.iss, args.aud, args.withdraw, id=args.id, iat=args.iat
        )
    else:
        fields = _notice_fields(args)
        claims = protocol.build_notice(key.iss, args.aud, items=_items(args), **fields)
    return protocol.sign(claims, key), claims["id"]


def _notice_fields(args):
    missing = [name for name in ("cat", "basis", "ref", "url") if not getattr(args, name)]
    if missing:
        raise UsageError("a notice needs " + ", ".join("--" + m for m in missing))
    if args.due is None and args.due_in is None and args.within is None:
        raise UsageError("a notice needs a deadline: --due, --due-in or --within")
    iat = int(time.time()) if args.iat is None else args.iat
    due = iat + args.due_in if args.due_in is not None else args.due
    return dict(
        due=due,
        within=args.within,
        cat=args.cat,
        basis=args.basis,
        ref=args.ref,
        id=args.id,
        iat=iat,
        lang=args.lang,
        note=args.note,
        contact=args.contact,
        redress=args.redress,
        replaces=args.replaces,
        preserve=args.preserve,
        nodisclose=True if args.nodisclose else None,
        test=True if args.test else None,
    )


def _items(args):
    if len(args.ip) > len(args.url) or len(args.sha256) > len(args.url):
        raise UsageError("more --ip or --sha256 than --url")
    return [
        protocol.make_item(
            url,
            args.ip[i] if i < len(args.ip) else None,
            args.sha256[i] if i < len(args.sha256) else None,
        )
        for i, url in enumerate(args.url)
    ]


def run(args):
    try:
        device_base(args.device)
        cose_bytes, message_id = build_message(args)
        if args.save_cose:
            with open(args.save_cose, "wb") as f:
                f.write(cose_bytes)
    except (UsageError, OSError, ValueError) as exc:
        print("meldbox hotline send: %s" % exc, file=sys.stderr)
        return EXIT_USAGE
    sent = {"bytes": len(cose_bytes), "nh": protocol.notice_hash(cose_bytes).hex()}
    if message_id is not None:
        sent["id"] = message_id.hex()
    book = None
    try:
        if args.db:
            book = SendRecord(
                args.db, cose_bytes, args.hoster, args.device_key, device_base(args.device)
            )
            args.device_key = book.device_key
    except (ValueError, OSError, ImportError) as exc:
        print("meldbox hotline send: ledger %s: %s" % (args.db, exc), file=sys.stderr)
        return EXIT_USAGE
    try:
        try:
            reply = asyncio.run(post_notice(args.device, cose_bytes, args.timeout))
        except NoAnswer as exc:
            if book:
                book.sent(None)
            print(json.dumps({"sent": sent, "error": str(exc)}))
            return EXIT_NO_ANSWER
        out, status = describe_reply(reply, args.device_key, cose_bytes, message_id)
        if book:
            out["ledger"] = book.sent(reply, out if out.get("verified") else None)
        print(json.dumps(dict(sent=sent, **out)))
        return status
    finally:
        if book:
            book.close()


class SendRecord:
    """What `send --db` writes: the message (before its answer is known, so a crash while
    waiting still leaves the send on record), then the answer and the verified receipt."""

    def __init__(self, target, cose_bytes, hoster, device_key, uri=None):
        from meldbox_host import ledger

        self.claims = protocol.peek_claims(cose_bytes)
        if not self.claims or not all(
            isinstance(self.claims.get(k), (str, bytes)) for k in ("iss", "id", "aud", "t")
        ):
            raise ValueError("the message has no iss/id/aud/t to record")
        self.cose = cose_bytes
        self.ledger = ledger.open_ledger(target)
        dev = self.claims["aud"]
        pinned = self.ledger.devices().get(dev)
        if device_key is not None:
            self.ledger.pin_device(dev, device_key, hoster, uri)
        elif pinned is not None:
            device_key = pinned["pub"]
            self.ledger.pin_device(dev, device_key, hoster, uri)
        self.device_key = device_key
        self.ledger.record_sent(self.claims, cose_bytes, hoster)

    def sent(self, reply, described=None):
        """Record the answer (None: no answer) and a verified receipt -> a short summary."""
        if reply is not None:
            self.ledger.record_answer(self.claims["iss"], self.claims["id"], reply.code)
        new = False
        if described is not None:
            receipt = protocol.verify_receipt(reply.payload, self.device_key)
            new = self.ledger.record_receipt(receipt, reply.payload)
        return {"recorded": True, "receipt_new": new}

    def close(self):
        self.ledger.close()


def run_status(args):
    try:
        device_base(args.device)
    except UsageError as exc:
        print("meldbox hotline status: %s" % exc, file=sys.stderr)
        return EXIT_USAGE
    try:
        reply = asyncio.run(get_status(args.device, args.timeout))
    except NoAnswer as exc:
        print(json.dumps({"error": str(exc)}))
        return EXIT_NO_ANSWER
    out, status = describe_reply(reply, args.device_key)
    print(json.dumps(out))
    return status
