"""Every way a message can be refused, each mapped to its CoAP response code
(PROTOCOL.md section 5). Callers catch ProtocolError and answer with `code`;
no other exception type may escape the protocol core on bad input.

`reason` is a short stable token (shown on the panel's rejected screen and in
problem details); the exception's text is the human detail.
"""

# CoAP response codes as on the wire: class << 5 | detail.
BAD_REQUEST = 0x80            # 4.00
UNAUTHORIZED = 0x81           # 4.01
BAD_OPTION = 0x82             # 4.02
FORBIDDEN = 0x83              # 4.03
NOT_FOUND = 0x84              # 4.04
METHOD_NOT_ALLOWED = 0x85     # 4.05
NOT_ACCEPTABLE = 0x86         # 4.06
CONFLICT = 0x89               # 4.09
REQUEST_ENTITY_INCOMPLETE = 0x88  # 4.08
PRECONDITION_FAILED = 0x8C    # 4.12
REQUEST_ENTITY_TOO_LARGE = 0x8D   # 4.13
UNSUPPORTED_CONTENT_FORMAT = 0x8F  # 4.15
TOO_MANY_REQUESTS = 0x9D      # 4.29
INTERNAL_SERVER_ERROR = 0xA0  # 5.00
SERVICE_UNAVAILABLE = 0xA3    # 5.03
PROXYING_NOT_SUPPORTED = 0xA5  # 5.05


def code_text(code):
    """0x81 -> '4.01'."""
    return "%d.%02d" % (code >> 5, code & 31)


class ProtocolError(Exception):
    code = BAD_REQUEST
    reason = "malformed"
    title = "Bad Request"

    @property
    def detail(self):
        return self.args[0] if self.args else self.reason


# A refusal's reason is a field, not a class: each class costs heap on the device (about
# 240 bytes on the 64-bit unix port): one class per reason, 27 in this module, cost
# 5 KiB more than these 9. So one class per code, the reason given when raised:
# Malformed("cbor-truncated", detail).
# Callers that need one reason test `e.reason`; tests too (tests/mp/mptest.py refused).
MalformedError = ProtocolError     # 4.00 "malformed", detail only (provisioning's frames)


class Malformed(ProtocolError):
    """4.00 with a specific reason. The reasons (PROTOCOL.md 5): cbor, cbor-truncated,
    cbor-trailing-bytes, cbor-too-deep, cbor-indefinite-length, cbor-duplicate-key,
    cbor-invalid-utf8, cbor-not-well-formed (reserved additional information 28-30, a bad
    simple value, a break out of place), cbor-unsupported (well-formed CBOR this protocol
    does not use: an unknown tag, a key neither text nor int), cose-structure, claims (the
    payload decodes but breaks PROTOCOL.md section 3)."""

    def __init__(self, reason, detail):
        super().__init__(detail)
        self.reason = reason


class Unauthorized(Malformed):
    """4.01: bad-alg, unknown-key, bad-signature."""
    code = UNAUTHORIZED
    title = "Unauthorized"


class Forbidden(Malformed):
    """4.03, authenticated but not allowed: revoked-key, expired-key, wrong-issuer,
    wrong-device."""
    code = FORBIDDEN
    title = "Forbidden"


class Conflict(Malformed):
    """4.09: id-reused."""
    code = CONFLICT
    title = "Conflict"


class StaleMessage(ProtocolError):
    """A message not seen before whose iat is older than its issuer's retention horizon:
    the device may have taken it in and pruned it since (PROTOCOL.md 4, retention)."""
    code = CONFLICT
    reason = "stale"
    title = "Conflict"


class TooLarge(ProtocolError):
    code = REQUEST_ENTITY_TOO_LARGE
    reason = "too-large"
    title = "Request Entity Too Large"
    size1 = 8192      # the Size1 option the 4.13 carries


class StoreFull(ProtocolError):
    code = SERVICE_UNAVAILABLE
    reason = "store-full"
    title = "Service Unavailable"
    max_age = 600     # Max-Age of the 5.03: staff need time to close notices


# --- refusals of the CoAP layers themselves (coap/) ----------------------------------
class Refusal(ProtocolError):
    """4.02, 4.04, 4.05, 4.08, 4.12, 4.13 (a provisioning frame), 4.29, 5.03, 5.05 from
    the message, request and block-wise layers and the provisioning link: one class with
    the code, reason and title per instance (each class costs heap on the device).
    `max_age`, when given, becomes the response's Max-Age."""
    reason = "refused"

    def __init__(self, code, reason, title, detail, max_age=None):
        super().__init__(detail)
        self.code = code
        self.reason = reason
        self.title = title
        if max_age is not None:
            self.max_age = max_age


def too_many_requests(detail, max_age):
    return Refusal(TOO_MANY_REQUESTS, "rate-limited", "Too Many Requests", detail, max_age)


def busy(detail, max_age):
    return Refusal(SERVICE_UNAVAILABLE, "busy", "Service Unavailable", detail, max_age)
