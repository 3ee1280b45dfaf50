"""What resources see and return (the resource layer): Request, Response, RFC 9290
problem details, and the RFC 6690 link format of /.well-known/core.

A resource:

    class Notices:
        methods = ("POST",)
        link = ';ct=18;rt="meldbox.notice"'      # attributes for /.well-known/core
        def slow(self, request): return False     # True: empty ACK first (RFC 7252 5.2.2)
        async def handle(self, request): return Response(CREATED, receipt, 18)

A handler raising errors.ProtocolError answers with its code and problem details;
any other exception answers 5.00 and the endpoint carries on.
"""
from meldbox.coap.message import ACCEPT, CF_PROBLEM, CON, CONTENT_FORMAT, URI_QUERY, code_text
from meldbox.core import cbor

MAX_DETAIL_CHARS = 200     # keeps every problem-details response within one datagram


class Response:
    """A response from a resource. `options` holds any further (number, value) pairs."""

    def __init__(self, code, payload=b"", content_format=None, max_age=None, size1=None):
        self.code = code
        self.payload = payload
        self.content_format = content_format
        self.max_age = max_age
        self.size1 = size1
        self.options = []

    def __repr__(self):
        return "<Response %s %d bytes cf=%s>" % (code_text(self.code), len(self.payload),
                                                 self.content_format)


class Request:
    """A request as a resource sees it; `payload` is the whole body (Block1 reassembled),
    bytes-like: bytes, or the reassembly bytearray/memoryview (take bytes() to keep it)."""

    def __init__(self, msg, peer, path, method, payload, resource):
        self.code = msg.code
        self.method = method
        self.path = path
        self.payload = payload
        self.content_format = msg.uint(CONTENT_FORMAT)
        self.accept = msg.uint(ACCEPT)
        self.query = msg.strings(URI_QUERY)
        self.options = msg.options
        self.token = msg.token
        self.confirmable = msg.mtype == CON
        self.peer = peer
        self.resource = resource
        self.size = getattr(msg, "size", 0)     # the datagram's length


def problem(code, title, detail=None):
    """An RFC 9290 concise problem details response: CBOR {-1: title, -2: detail},
    Content-Format 257."""
    body = {-1: title}
    if detail is not None:
        body[-2] = str(detail)[:MAX_DETAIL_CHARS]
    return Response(code, cbor.dumps(body), CF_PROBLEM)


def error_response(err):
    """A ProtocolError as problem details, with Size1 / Max-Age when the error has them."""
    resp = problem(err.code, err.title, err.detail)
    resp.size1 = getattr(err, "size1", None)
    resp.max_age = getattr(err, "max_age", None)
    return resp


def link_format(resources):
    """RFC 6690 links for /.well-known/core, e.g. </notices>;ct=18,</status>;ct=18."""
    return ",".join("<%s>%s" % (path, getattr(resources[path], "link", "") or "")
                    for path in sorted(resources)).encode()
