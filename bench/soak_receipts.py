"""The soak's receipt checker: an independent hotline receipt endpoint (aiocoap) that
verifies each receipt itself (pycose over cbor2, the device's Ed25519 key) and checks the
device's hash chain, checkpoints included. It shares no code with `meldbox hotline serve`
on purpose: the soak must not trust the project's own reading of the wire (PROTOCOL.md 4
and 6, /work/notes/WIRE.md item 2 for checkpoints)."""
import hashlib

import aiocoap
import aiocoap.resource as resource
import cbor2
from pycose.keys import OKPKey
from pycose.keys.curves import Ed25519
from pycose.messages import Sign1Message

COSE_SIGN1_TAG = 18
CF_COSE = 18
EDDSA = -8


class Refused(Exception):
    pass


def read_receipt(cose_bytes, device_key):
    """Verify one receipt's signature and shape; its claims dict (Refused if not)."""
    try:
        item = cbor2.loads(cose_bytes)
    except Exception as e:
        raise Refused("not CBOR: %s" % e) from None
    if isinstance(item, cbor2.CBORTag):
        if item.tag != COSE_SIGN1_TAG:
            raise Refused("tag %d, not COSE_Sign1" % item.tag)
        item = item.value
    if not (isinstance(item, list) and len(item) == 4):
        raise Refused("not a COSE_Sign1 array")
    protected, _, payload, _ = item
    if cbor2.loads(protected) != {1: EDDSA}:
        raise Refused("protected header is not {1: -8}")
    msg = Sign1Message.decode(cbor2.dumps(cbor2.CBORTag(COSE_SIGN1_TAG, item)))
    msg.key = OKPKey(crv=Ed25519, x=device_key)
    if not msg.verify_signature():
        raise Refused("bad signature")
    claims = cbor2.loads(payload)
    if claims.get("t") != "receipt" or claims.get("v") != 1:
        raise Refused("not a v1 receipt: %r" % claims.get("t"))
    seq, prev = claims.get("seq"), claims.get("prev")
    if type(seq) is not int or seq < 1 or not (isinstance(prev, bytes) and len(prev) == 32):
        raise Refused("seq/prev missing or malformed")
    if claims.get("kind") == "checkpoint":
        ph, pseq = claims.get("ph"), claims.get("pseq")
        if type(pseq) is not int or not 0 < pseq < seq or not (isinstance(ph, bytes)
                                                               and len(ph) == 32):
            raise Refused("checkpoint without a valid pseq/ph")
    return claims


class _Receipts(resource.Resource):
    def __init__(self, checker, name):
        super().__init__()
        self.checker = checker
        self.name = name

    async def render_post(self, request):
        if request.opt.content_format != CF_COSE:
            return aiocoap.Message(code=aiocoap.UNSUPPORTED_CONTENT_FORMAT)
        try:
            self.checker.take(self.name, bytes(request.payload))
        except Refused as e:
            self.checker.refused.append("%s: %s" % (self.name, e))
            return aiocoap.Message(code=aiocoap.UNAUTHORIZED, payload=str(e).encode())
        return aiocoap.Message(code=aiocoap.CHANGED)


class ReceiptChecker:
    """One receipt endpoint per issuer (each can go offline on its own); the chain is
    checked over what all of them hold, since each issuer gets only its own receipts."""

    def __init__(self, device_key):
        self.device_key = device_key
        self.held = {}          # seq -> COSE bytes
        self.claims = {}        # seq -> claims
        self.by_endpoint = {}   # name -> set of seqs received there
        self.forks = []         # (seq, why)
        self.refused = []
        self.contexts = {}      # name -> running aiocoap server context
        self.ports = {}

    def take(self, name, cose_bytes):
        claims = read_receipt(cose_bytes, self.device_key)
        seq = claims["seq"]
        old = self.held.get(seq)
        if old is not None and old != cose_bytes:
            self.forks.append((seq, "two different receipts for seq %d" % seq))
        self.held.setdefault(seq, cose_bytes)
        self.claims.setdefault(seq, claims)
        self.by_endpoint.setdefault(name, set()).add(seq)

    async def start(self, name, port):
        site = resource.Site()
        site.add_resource(["receipts"], _Receipts(self, name))
        # UDP only: the port was probed for UDP, and tests beside the soak may hold its
        # TCP twin (aiocoap binds TCP too unless told)
        self.contexts[name] = await aiocoap.Context.create_server_context(
            site, bind=("127.0.0.1", port), transports=["udp6"])
        self.ports[name] = port

    async def stop(self, name):
        ctx = self.contexts.pop(name, None)
        if ctx is not None:
            await ctx.shutdown()

    def online(self, name):
        return name in self.contexts

    async def stop_all(self):
        for name in list(self.contexts):
            await self.stop(name)

    def chain_problems(self):
        """Everything wrong with the chain held: gaps, prev links, checkpoint links."""
        problems = ["seq %d: %s" % f for f in self.forks] + self.refused
        if not self.held:
            return problems
        top = max(self.held)
        missing = [s for s in range(1, top + 1) if s not in self.held]
        if missing:
            problems.append("%d receipts never arrived (first: %s)" % (len(missing), missing[:5]))
        for seq, claims in self.claims.items():
            before = self.held.get(seq - 1)
            if seq == 1 and claims["prev"] != bytes(32):
                problems.append("seq 1: prev is not 32 zero bytes")
            elif before is not None and claims["prev"] != hashlib.sha256(before).digest():
                problems.append("seq %d: prev is not the hash of receipt %d" % (seq, seq - 1))
            if claims.get("kind") == "checkpoint":
                pruned = self.held.get(claims["pseq"])
                if pruned is not None and claims["ph"] != hashlib.sha256(pruned).digest():
                    problems.append("checkpoint %d: ph is not the hash of receipt %d"
                                    % (seq, claims["pseq"]))
        return problems

    def checkpoints(self):
        return sum(1 for c in self.claims.values() if c.get("kind") == "checkpoint")
