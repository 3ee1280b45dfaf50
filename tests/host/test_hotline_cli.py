"""`meldbox hotline keygen/send/status/serve`: send against a small aiocoap server that
plays a device (signing real receipts with the vector device key, or answering with
problem details), and the receipt server in-process and as a command."""

import asyncio
import io
import json
import os
import signal
import stat
import subprocess
import sys
import threading
from pathlib import Path

import aiocoap
import aiocoap.resource
import cbor2
import pytest

from meldbox_host import cli
from meldbox_host import protocol as P
from meldbox_host.hotline import serve as serve_mod
from meldbox_host.sim import device as sim_device

VECTORS = json.loads((Path(__file__).resolve().parents[1] / "data" / "notices.json").read_text())
DEVICE_ID = VECTORS["device_id"]
DEVICE_SEED = bytes.fromhex(VECTORS["device_private_seed"])
DEVICE_PUB = bytes.fromhex(VECTORS["device_public_key"])
MINIMAL = bytes.fromhex(VECTORS["notices"][0]["cose"])
# the vectors' receipts about notices (the last one, a checkpoint, is tested in
# test_checkpoint_cross.py and tests/firmware/mptest_vectors.py)
NOTICE_RECEIPTS = [r for r in VECTORS["receipts"] if r["fields"]["kind"] != "checkpoint"]
RECEIPT_COSE = [bytes.fromhex(r["cose"]) for r in NOTICE_RECEIPTS]
MELDBOX = Path(sys.executable).with_name("meldbox")


# --- a device played by aiocoap in a background thread -------------------------------------------
class FakeDevice:
    """Serves /notices and /status. mode: 'receipt' (a real delivered receipt for what was
    posted), 'vector' (vector receipt 1 whatever was posted), 'problem' (4.01 with problem
    details), 'slow' (answers after 5 s)."""

    def __init__(self, mode="receipt"):
        self.mode = mode
        self.requests = []

    def __enter__(self):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.port = asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(10)
        self.uri = "coap://127.0.0.1:%d" % self.port
        return self

    def __exit__(self, *exc):
        asyncio.run_coroutine_threadsafe(self.ctx.shutdown(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()

    async def _start(self):
        site = aiocoap.resource.Site()
        site.add_resource(["notices"], _Notices(self))
        site.add_resource(["status"], _Status(self))
        self.ctx = await aiocoap.Context.create_server_context(
            site, bind=("127.0.0.1", 0), transports=["udp6"]
        )
        return serve_mod.bound_port(self.ctx)

    def receipt_for(self, cose):
        claims = P.peek_claims(cose)
        fields = {
            "v": 1,
            "t": "receipt",
            "dev": DEVICE_ID,
            "seq": 1,
            "prev": bytes(32),
            "kind": "delivered" if claims["t"] == "notice" else "withdrawn",
            "iss": claims["iss"],
            "nid": claims["id"],
            "nh": P.notice_hash(cose),
            "at": 1800000060,
            "clock": "ntp",
        }
        return P.sign(fields, DEVICE_SEED)


class _Notices(aiocoap.resource.Resource):
    def __init__(self, device):
        super().__init__()
        self.device = device

    async def render_post(self, request):
        dev = self.device
        dev.requests.append(("POST", request.opt.content_format, request.payload))
        if dev.mode == "slow":
            await asyncio.sleep(5)
        if dev.mode == "problem":
            return aiocoap.Message(
                code=aiocoap.UNAUTHORIZED,
                content_format=257,
                payload=cbor2.dumps({-1: "Unauthorized", -2: "unknown-key: kid 00"}),
            )
        body = RECEIPT_COSE[0] if dev.mode == "vector" else dev.receipt_for(request.payload)
        return aiocoap.Message(code=aiocoap.CREATED, content_format=18, payload=body)


class _Status(aiocoap.resource.Resource):
    def __init__(self, device):
        super().__init__()
        self.device = device

    async def render_get(self, request):
        status = {
            "v": 1,
            "t": "receipt",
            "dev": DEVICE_ID,
            "seq": 0,
            "prev": P.chain_hash(RECEIPT_COSE[-1]),
            "kind": "status",
            "at": 1800000300,
            "clock": "ntp",
            "state": {"active": 2},
        }
        return aiocoap.Message(
            code=aiocoap.CONTENT, content_format=18, payload=P.sign(status, DEVICE_SEED)
        )


def meldbox(capsys, *argv):
    """Run the meldbox command in-process -> (exit status, stdout JSON or text)."""
    status = cli.main(list(argv))
    out = capsys.readouterr().out
    try:
        return status, json.loads(out)
    except ValueError:
        return status, out


def send_argv(device_uri, key=None, device_key=None):
    """The argv of `meldbox hotline send` to DEVICE_URI, with --key FILE and --device-key
    (bytes, given as hex) when given."""
    argv = ["hotline", "send"]
    if key is not None:
        argv += ["--key", str(key)]
    argv += ["--device", device_uri]
    if device_key is not None:
        argv += ["--device-key", device_key.hex()]
    return argv


def send(capsys, device_uri, *args, key=None, device_key=None):
    """Run `meldbox hotline send` in-process -> (exit status, stdout JSON or text)."""
    return meldbox(capsys, *send_argv(device_uri, key, device_key), *args)


@pytest.fixture
def keyfile(tmp_path):
    path = tmp_path / "eokm.key"
    P.save_key(path, P.HotlineKey.generate("nl.eokm"))
    return path


# --- keygen -----------------------------------------------------------------------------------------------  # noqa: E501
def test_keygen_output_is_usable_by_sim_device(tmp_path, capsys):
    path = tmp_path / "k.json"
    status, out = meldbox(capsys, "hotline", "keygen", "--iss", "nl.eokm", "--out", str(path))
    assert status == 0
    key = P.load_key(path)
    assert out["public_key"] == key.public.hex() and out["kid"] == P.kid_of(key.public).hex()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    flag, value = out["trust_arg"].split(" ", 1)
    assert flag == "--trust"
    parsed = sim_device.parse_trust([value])
    assert parsed[0]["iss"] == "nl.eokm" and bytes.fromhex(parsed[0]["key"]) == key.public


def test_keygen_refuses_to_overwrite(tmp_path, capsys):
    path = tmp_path / "k.json"
    assert meldbox(capsys, "hotline", "keygen", "--iss", "a", "--out", str(path))[0] == 0
    first = path.read_text()
    assert meldbox(capsys, "hotline", "keygen", "--iss", "b", "--out", str(path))[0] == 1
    assert path.read_text() == first
    assert (
        meldbox(capsys, "hotline", "keygen", "--iss", "b", "--out", str(path), "--force")[0] == 0
    )
    assert P.load_key(path).iss == "b"


# --- send -------------------------------------------------------------------------------------------------  # noqa: E501
NOTICE_ARGS = [
    "--aud",
    DEVICE_ID,
    "--cat",
    "csam",
    "--basis",
    "NL NTD code",
    "--ref",
    "EOKM-1",
    "--url",
    "https://files.example/a.jpg",
    "--url",
    "https://files.example/b.jpg",
    "--ip",
    "192.0.2.10",
    "--sha256",
    "ab" * 32,
    "--due-in",
    "86400",
    "--iat",
    "1800000000",
    "--id",
    "0102030405060708",
    "--nodisclose",
    "--test",
    "--note",
    "zie bijlage",
]
PING_ARGS = ["--ping", "--aud", DEVICE_ID]


def test_send_notice_prints_verified_receipt(keyfile, capsys):
    with FakeDevice() as device:
        status, out = send(capsys, device.uri, *NOTICE_ARGS, key=keyfile, device_key=DEVICE_PUB)
    assert status == 0, out
    assert out["code"] == "2.01" and out["verified"] is True and out["answers_request"] is True
    assert out["receipt"]["kind"] == "delivered" and out["receipt"]["nid"] == "0102030405060708"
    method, cf, payload = device.requests[0]
    assert cf == 18 and out["sent"]["nh"] == P.notice_hash(payload).hex()
    key = P.load_key(keyfile)
    _, claims = P.verify_sign1(payload, key.public)
    assert claims == {
        "v": 1,
        "t": "notice",
        "id": bytes.fromhex("0102030405060708"),
        "iss": "nl.eokm",
        "aud": DEVICE_ID,
        "iat": 1800000000,
        "due": 1800086400,
        "cat": "csam",
        "basis": "NL NTD code",
        "ref": "EOKM-1",
        "nodisclose": True,
        "test": True,
        "note": "zie bijlage",
        "items": [
            {"url": "https://files.example/a.jpg", "ip": "192.0.2.10", "sha256": b"\xab" * 32},
            {"url": "https://files.example/b.jpg"},
        ],
    }


def test_send_raw_vector_notice_gets_vector_receipt(tmp_path, capsys):
    raw = tmp_path / "minimal.cose"
    raw.write_bytes(MINIMAL)
    with FakeDevice("vector") as device:
        status, out = send(capsys, device.uri, "--raw", str(raw), device_key=DEVICE_PUB)
    assert status == 0, out
    assert device.requests[0][2] == MINIMAL
    assert out["receipt"] == VECTORS["receipts"][0]["fields"]
    assert out["receipt_cose"] == VECTORS["receipts"][0]["cose"] and out["answers_request"] is True


def test_send_without_device_key_says_unverified(keyfile, capsys):
    with FakeDevice() as device:
        status, out = send(capsys, device.uri, *PING_ARGS, key=keyfile)
    assert status == 0
    assert (
        out["verified"] is False
        and "unverified" in out["note"]
        and out["receipt"]["dev"] == DEVICE_ID
    )
    assert P.peek_claims(device.requests[0][2])["t"] == "ping"


def test_send_refuses_receipt_from_another_key_or_for_another_message(keyfile, capsys):
    with FakeDevice("vector") as device:
        status, out = send(capsys, device.uri, *PING_ARGS, key=keyfile, device_key=b"\x11" * 32)
        assert status == 4 and out["verified"] is False and "bad-signature" in out["error"]
        status, out = send(capsys, device.uri, *PING_ARGS, key=keyfile, device_key=DEVICE_PUB)
        assert status == 4 and out["verified"] is True and out["answers_request"] is False


def test_send_error_answer_prints_problem_details(keyfile, capsys):
    with FakeDevice("problem") as device:
        status, out = send(capsys, device.uri, *NOTICE_ARGS, key=keyfile)
    assert status == 1
    assert out["code"] == "4.01" and out["content_format"] == 257
    assert out["problem"] == {"title": "Unauthorized", "detail": "unknown-key: kid 00"}


def test_send_withdraw_builds_withdraw_claims(keyfile, capsys):
    with FakeDevice() as device:
        withdraw = ["--aud", DEVICE_ID, "--withdraw", "aa" * 16]
        status, out = send(capsys, device.uri, *withdraw, key=keyfile, device_key=DEVICE_PUB)
    assert status == 0 and out["receipt"]["kind"] == "withdrawn"
    claims = P.peek_claims(device.requests[0][2])
    assert claims["t"] == "withdraw" and claims["ref"] == b"\xaa" * 16


def test_send_large_notice_goes_blockwise(keyfile, tmp_path, capsys):
    urls = []
    for i in range(40):
        urls += ["--url", "https://files.example/%03d/%s" % (i, "x" * 60)]
    saved = tmp_path / "sent.cose"
    with FakeDevice() as device:
        status, out = send(
            capsys,
            device.uri,
            "--aud",
            DEVICE_ID,
            "--cat",
            "other",
            "--basis",
            "b",
            "--ref",
            "r",
            "--within",
            "3600",
            "--save-cose",
            str(saved),
            *urls,
            key=keyfile,
            device_key=DEVICE_PUB,
        )
    assert status == 0, out
    assert len(saved.read_bytes()) > 2048 and device.requests[0][2] == saved.read_bytes()
    assert len(P.peek_claims(saved.read_bytes())["items"]) == 40


def test_send_timeout_exits_3(keyfile, capsys):
    with FakeDevice("slow") as device:
        status, out = send(capsys, device.uri, *PING_ARGS, "--timeout", "0.5", key=keyfile)
    assert status == 3 and "no answer" in out["error"]


def test_send_usage_errors(keyfile, capsys):
    base = send_argv("coap://127.0.0.1:9", key=keyfile)
    no_deadline = [a for a in NOTICE_ARGS if a not in ("--due-in", "86400")]
    assert cli.main(base + no_deadline) == 2
    assert "needs a deadline" in capsys.readouterr().err
    assert cli.main(base + NOTICE_ARGS[:2] + ["--cat", "csam"]) == 2  # no basis, ref, url
    assert "--basis" in capsys.readouterr().err
    assert cli.main(send_argv("http://x", key=keyfile) + ["--ping", "--aud", "d"]) == 2
    assert "coap://" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(base + NOTICE_ARGS + ["--due", "5"])  # two deadlines
    assert "not allowed with" in capsys.readouterr().err


def test_status_prints_verified_status_receipt(capsys):
    with FakeDevice() as device:
        status, out = meldbox(
            capsys, "hotline", "status", "--device", device.uri, "--device-key", DEVICE_PUB.hex()
        )
    assert status == 0 and out["code"] == "2.05" and out["verified"] is True
    assert out["receipt"]["kind"] == "status" and out["receipt"]["state"] == {"active": 2}


# --- serve, in-process --------------------------------------------------------------------------------------  # noqa: E501
async def _post(port, payload, cf=18, client=None):
    msg = aiocoap.Message(
        code=aiocoap.POST,
        uri="coap://127.0.0.1:%d/receipts" % port,
        payload=payload,
        transport_tuning=aiocoap.Reliable(),
    )
    if cf is not None:
        msg.opt.content_format = cf
    resp = await asyncio.wait_for(client.request(msg).response, 10)
    return resp.code.dotted, resp


def serve_and_post(log, payloads, devices=None, err=None):
    """Start a ReceiptServer, POST each (payload, cf), stop -> (server, [(code, response)])."""

    async def go():
        server = serve_mod.ReceiptServer(devices or {DEVICE_ID: DEVICE_PUB}, log, err=err)
        port = await server.start()
        client = await aiocoap.Context.create_client_context(transports=["udp6"])
        try:
            return server, [await _post(port, p, cf, client) for p, cf in payloads]
        finally:
            await client.shutdown()
            await server.stop()

    return asyncio.run(go())


def log_lines(path):
    return [json.loads(line) for line in Path(path).read_text().splitlines()]


def test_serve_appends_each_receipt_once(tmp_path, capsys):
    log = tmp_path / "r.jsonl"
    payloads = [(c, 18) for c in RECEIPT_COSE] + [(RECEIPT_COSE[1], 18)]
    server, answers = serve_and_post(log, payloads)
    assert [code for code, _ in answers] == ["2.04"] * 5
    lines = log_lines(log)
    assert [e["seq"] for e in lines] == [1, 2, 3, 4] and server.entries == lines
    for entry, vector, cose in zip(lines, NOTICE_RECEIPTS, RECEIPT_COSE):
        f = vector["fields"]
        assert (
            entry["dev"],
            entry["kind"],
            entry["nid"],
            entry["at"],
            entry["clock"],
            entry["prev"],
        ) == (f["dev"], f["kind"], f["nid"], f["at"], f["clock"], f["prev"])
        assert entry["cose"] == cose.hex() and entry["chain"] == "ok"
    assert lines[3]["note"] == "Niet onze klant"


def test_serve_refuses_bad_signature_unknown_device_and_wrong_dev(tmp_path):
    log = tmp_path / "r.jsonl"
    flipped = bytearray(RECEIPT_COSE[0])
    flipped[-1] ^= 1
    stranger = P.HotlineKey.generate("x")
    fields = P.verify_receipt(RECEIPT_COSE[0], DEVICE_PUB)
    other_dev = P.sign(dict(fields, dev="nl.hoster-a.desk-2"), DEVICE_SEED)
    by_stranger = P.sign(fields, stranger)
    _, answers = serve_and_post(
        log,
        [
            (bytes(flipped), 18),
            (by_stranger, 18),
            (other_dev, 18),
            (b"\x01\x02", 18),
            (RECEIPT_COSE[0], 0),
        ],
    )
    codes = [code for code, _ in answers]
    assert codes == ["4.01", "4.01", "4.03", "4.00", "4.15"]
    for _, resp in answers:
        assert resp.opt.content_format == 257 and P.decode_problem(resp.payload)["title"]
    assert "bad-signature" in P.decode_problem(answers[0][1].payload)["detail"]
    assert not log.exists() or log.read_text() == ""


def test_serve_reports_gap_and_still_appends(tmp_path):
    log = tmp_path / "r.jsonl"
    err = io.StringIO()
    _, answers = serve_and_post(
        log, [(RECEIPT_COSE[0], 18), (RECEIPT_COSE[2], 18), (RECEIPT_COSE[1], 18)], err=err
    )
    assert [code for code, _ in answers] == ["2.04"] * 3
    lines = log_lines(log)
    assert [(e["seq"], e["chain"]) for e in lines] == [(1, "ok"), (3, "gap"), (2, "ok")]
    assert lines[1]["missing"] == [2]
    assert "gap" in err.getvalue() and "seq 3" in err.getvalue()


def test_serve_keeps_chain_across_restart(tmp_path):
    log = tmp_path / "r.jsonl"
    serve_and_post(log, [(RECEIPT_COSE[0], 18), (RECEIPT_COSE[1], 18)])
    server, answers = serve_and_post(log, [(RECEIPT_COSE[1], 18), (RECEIPT_COSE[2], 18)])
    assert [code for code, _ in answers] == ["2.04", "2.04"]
    assert [(e["seq"], e["chain"]) for e in log_lines(log)] == [(1, "ok"), (2, "ok"), (3, "ok")]


def test_serve_refuses_oversized_blockwise_receipt(tmp_path):
    _, answers = serve_and_post(tmp_path / "r.jsonl", [(b"\xd2" + b"\x00" * 9000, 18)])
    code, resp = answers[0]
    assert code == "4.13" and resp.opt.size1 == 8192


def test_serve_core_handles_without_network(tmp_path):
    server = serve_mod.ReceiptServer({}, None)
    assert server.handle(RECEIPT_COSE[0], 18).code == aiocoap.UNAUTHORIZED
    server.add_device(DEVICE_ID, DEVICE_PUB)
    assert server.handle(RECEIPT_COSE[0], 18).code == aiocoap.CHANGED
    assert server.handle(RECEIPT_COSE[0], 18).code == aiocoap.CHANGED
    assert len(server.entries) == 1 and server.chain.head(DEVICE_ID) == 1


def test_serve_command_prints_ready_and_logs(tmp_path):
    log = tmp_path / "r.jsonl"
    proc = subprocess.Popen(
        [
            str(MELDBOX),
            "hotline",
            "serve",
            "--port",
            "0",
            "--log",
            str(log),
            "--device",
            "%s=%s" % (DEVICE_ID, DEVICE_PUB.hex()),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        ready = json.loads(proc.stdout.readline())
        assert ready["event"] == "ready" and ready["port"] > 0

        async def post():
            client = await aiocoap.Context.create_client_context(transports=["udp6"])
            try:
                return await _post(ready["port"], RECEIPT_COSE[0], 18, client)
            finally:
                await client.shutdown()

        assert asyncio.run(post())[0] == "2.04"
        event = json.loads(proc.stdout.readline())
        assert event == {
            "event": "receipt",
            "dev": DEVICE_ID,
            "seq": 1,
            "kind": "delivered",
            "chain": "ok",
        }
        assert log_lines(log)[0]["seq"] == 1
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
