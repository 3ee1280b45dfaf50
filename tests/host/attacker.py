"""What the attack tests use instead of the project's hotline code: CoAP datagrams made
by hand on raw UDP sockets, COSE_Sign1 built from cbor2 and cryptography directly."""

import hashlib
import os
import socket
import time

import cbor2
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

CON, NON, ACK, RST = 0, 1, 2, 3
GET, POST = 1, 2
URI_PATH, CONTENT_FORMAT, BLOCK1, SIZE1 = 11, 12, 27, 60


class Issuer:
    """An issuer's key pair, its kid (first 8 bytes of SHA-256 of the raw public key)."""

    def __init__(self, iss):
        self.iss = iss
        self.private = Ed25519PrivateKey.generate()
        self.public = self.private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.kid = hashlib.sha256(self.public).digest()[:8]

    def trust_flag(self, not_after=None):
        flag = "%s=%s" % (self.iss, self.public.hex())
        return flag + (",not-after=%d" % not_after if not_after else "")

    def claims(self, t, aud, **kw):
        claims = {
            "v": 1,
            "t": t,
            "id": os.urandom(16),
            "iss": self.iss,
            "aud": aud,
            "iat": int(time.time()),
        }
        if t == "notice":
            claims.update(
                {
                    "within": 3600,
                    "cat": "other",
                    "basis": "test",
                    "ref": "A-1",
                    "items": [{"url": "https://x.example/%s" % os.urandom(4).hex()}],
                }
            )
        claims.update(kw)
        return {k: v for k, v in claims.items() if v is not None}

    def sign(self, claims, unprotected=None, tagged=True, protected=b"\xa1\x01\x27"):
        """COSE_Sign1 over cbor2's canonical encoding of `claims`; kid unprotected."""
        payload = cbor2.dumps(claims, canonical=True)
        tbs = cbor2.dumps(["Signature1", protected, b"", payload])
        sig = self.private.sign(tbs)
        header = {4: self.kid} if unprotected is None else unprotected
        body = [protected, header, payload, sig]
        return cbor2.dumps(cbor2.CBORTag(18, body) if tagged else body)


def _option_header(delta, length):
    def nib(v):
        if v < 13:
            return v, b""
        if v < 269:
            return 13, bytes([v - 13])
        return 14, (v - 269).to_bytes(2, "big")

    d, dx = nib(delta)
    n, nx = nib(length)
    return bytes([d << 4 | n]) + dx + nx


def uint(v):
    return v.to_bytes((v.bit_length() + 7) // 8, "big") if v else b""


def coap(mtype, code, mid, token=b"", options=(), payload=b""):
    """A CoAP datagram; options are (number, bytes) in any order."""
    out = bytes([0x40 | mtype << 4 | len(token), code]) + mid.to_bytes(2, "big") + token
    last = 0
    for number, value in sorted(options, key=lambda o: o[0]):
        out += _option_header(number - last, len(value)) + value
        last = number
    if payload:
        out += b"\xff" + payload
    return out


def request(code, path, mid, token=b"", payload=b"", cf=None, extra=(), mtype=CON):
    options = [(URI_PATH, p.encode()) for p in path.strip("/").split("/")]
    if cf is not None:
        options.append((CONTENT_FORMAT, uint(cf)))
    return coap(mtype, code, mid, token, options + list(extra), payload)


class Reply:
    def __init__(self, raw):
        self.raw = raw
        self.mtype = raw[0] >> 4 & 3
        self.code = raw[1]
        self.mid = int.from_bytes(raw[2:4], "big")
        tkl = raw[0] & 15
        self.token = raw[4 : 4 + tkl]
        pos, number, self.options = 4 + tkl, 0, []
        while pos < len(raw) and raw[pos] != 0xFF:
            d, n = raw[pos] >> 4, raw[pos] & 15
            pos += 1
            vals = []
            for v in (d, n):
                if v == 13:
                    v = raw[pos] + 13
                    pos += 1
                elif v == 14:
                    v = int.from_bytes(raw[pos : pos + 2], "big") + 269
                    pos += 2
                vals.append(v)
            number += vals[0]
            self.options.append((number, raw[pos : pos + vals[1]]))
            pos += vals[1]
        self.payload = raw[pos + 1 :] if pos < len(raw) else b""

    @property
    def code_text(self):
        return "%d.%02d" % (self.code >> 5, self.code & 31)

    def option(self, number):
        for n, v in self.options:
            if n == number:
                return v
        return None

    def problem(self):
        assert self.option(CONTENT_FORMAT) == uint(257), self.code_text
        return cbor2.loads(self.payload)

    def receipt(self):
        """The receipt's claims (not verified: the tests compare bytes and fields)."""
        return cbor2.loads(cbor2.loads(self.payload).value[2])


class Peer:
    """A raw UDP socket; `host` picks its loopback source address (127.0.0.N)."""

    def __init__(self, target, host="127.0.0.1"):
        self.target = target
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, 0))
        self.mid = int.from_bytes(os.urandom(2), "big")

    def next_mid(self):
        self.mid = (self.mid + 1) & 0xFFFF
        return self.mid

    def send(self, data):
        self.sock.sendto(data, self.target)

    def recv(self, timeout):
        self.sock.settimeout(timeout)
        try:
            return self.sock.recv(65536)
        except (TimeoutError, ConnectionRefusedError):
            return None

    def exchange(self, data, timeout=20.0):
        """Send a CON, retransmitting a few times as a client would; the response to it
        (piggybacked, or separate after an empty ACK, which a slow device sends)."""
        mid = int.from_bytes(data[2:4], "big")
        token = data[4 : 4 + (data[0] & 15)]
        deadline = time.monotonic() + timeout
        wait, acked = 1.0, False
        while time.monotonic() < deadline:
            if not acked:
                self.send(data)
            end = deadline if acked else min(deadline, time.monotonic() + wait)
            while time.monotonic() < end:
                raw = self.recv(max(0.01, end - time.monotonic()))
                if raw is None:
                    break
                reply = Reply(raw)
                if reply.mid == mid and reply.mtype == ACK and reply.code == 0:
                    acked = True  # the response follows separately
                elif reply.mid == mid and reply.mtype in (ACK, RST):
                    return reply
                elif acked and reply.token == token and reply.mtype in (CON, NON):
                    if reply.mtype == CON:
                        self.send(coap(ACK, 0, reply.mid))
                    return reply
            wait *= 2
        raise AssertionError("no reply within %g s" % timeout)

    def post(self, cose, timeout=20.0):
        token = os.urandom(4)
        return self.exchange(request(POST, "/notices", self.next_mid(), token, cose, 18), timeout)

    def close(self):
        self.sock.close()
