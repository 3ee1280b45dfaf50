"""The device's CoAP resources (PROTOCOL.md section 5): /notices and /status."""
from meldbox.core import errors
from meldbox.coap.endpoint import Response, error_response, problem

CONTENT_FORMAT_COSE_SIGN1 = 18
CONTENT = 0x45   # 2.05


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
