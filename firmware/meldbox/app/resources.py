"""The device's CoAP resources (PROTOCOL.md section 5): /notices and /status."""
import gc

from meldbox.core import errors
from meldbox.coap.resource import Response, error_response, problem

CONTENT_FORMAT_COSE_SIGN1 = 18
CONTENT = 0x45   # 2.05
BUSY_MAX_AGE = 5


class NoticesResource:
    methods = ("POST",)
    link = ';ct=18;rt="meldbox.notice"'

    def __init__(self, intake, state, slow_verify):
        self.intake = intake
        self.state = state              # callable -> status summary for ping answers
        self.slow_verify = slow_verify  # callable -> True when a verify may outlast ~1 s

    def slow(self, request):
        return self.slow_verify()

    async def handle(self, request):
        if request.content_format != CONTENT_FORMAT_COSE_SIGN1:
            return problem(errors.UNSUPPORTED_CONTENT_FORMAT, "Unsupported Content-Format",
                           "POST /notices takes a COSE_Sign1 object, Content-Format 18")
        try:
            code, receipt = self.intake.receive(request.payload, self.state)
        except errors.ProtocolError as e:
            return error_response(e)
        except MemoryError as e:
            from meldbox.app.intake import log_exception
            log_exception("taking in a message", e)
            # Nothing was committed (or, if it was, a retry gets the stored receipt):
            # ask the hotline to come back shortly instead of failing for good.
            gc.collect()
            resp = problem(errors.SERVICE_UNAVAILABLE, "Service Unavailable",
                           "out of memory for this message now; retry")
            resp.max_age = BUSY_MAX_AGE
            return resp
        return Response(code, receipt, CONTENT_FORMAT_COSE_SIGN1)


class StatusResource:
    methods = ("GET",)
    link = ";ct=18"

    def __init__(self, ledger, state):
        self.ledger = ledger
        self.state = state

    def slow(self, request):
        return False

    async def handle(self, request):
        return Response(CONTENT, self.ledger.status(self.state()), CONTENT_FORMAT_COSE_SIGN1)
