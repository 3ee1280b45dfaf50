"""The CoAP request layer (RFC 7252 section 5) over the message layer: routing to
resources, Block1 reassembly and Block2 slicing, piggybacked or separate responses.

Per new request (after the message layer's checks), in this order: a datagram over
MAX_DATAGRAM (4.13 with Size1 and a Block1 size hint), critical options (4.02),
proxying (5.05), path (4.04), method (4.05), preconditions (4.12), size (4.13), Block1
reassembly (2.31, 4.08, 4.13, 5.03), requests in progress (5.03), and finally the
resource's handler (coap/resource.py), piggybacked in the ACK, or after an empty ACK as
a separate CON response when the resource says it is slow.
"""
import asyncio

from meldbox.coap import (MAX_BLOCK_SZX, MAX_BODY, MAX_DATAGRAM, MAX_INFLIGHT,
                          MAX_INFLIGHT_PER_SOURCE)
from meldbox.coap.blockwise import OUT_OF_MEMORY_MAX_AGE, Reassembler, block2
from meldbox.coap.client import Reset
from meldbox.coap.message import (ACCEPT, ACK, BLOCK1, CF_LINK_FORMAT, CON, CONTENT,
                                  CONTINUE, EMPTY, IF_MATCH, IF_NONE_MATCH, METHODS,
                                  PROXY_SCHEME, PROXY_URI, REQUEST_TAG, SIZE1, URI_PATH,
                                  URI_QUERY, Message, block_fields, block_value, code_text)
from meldbox.coap.messagelayer import MessageLayer, source_address
from meldbox.coap.resource import Request, Response, error_response, link_format, problem
from meldbox.core import errors

WELL_KNOWN_CORE = "/.well-known/core"


def _not_allowed(detail):
    return errors.Refusal(errors.METHOD_NOT_ALLOWED, "method-not-allowed", "Method Not Allowed",
                          detail)


def _precondition(detail):
    return errors.Refusal(errors.PRECONDITION_FAILED, "precondition-failed",
                          "Precondition Failed", detail)


class Endpoint(MessageLayer):
    def __init__(self, transport, resources, **kw):
        """`resources`: path -> resource; the rest as MessageLayer takes them."""
        super().__init__(transport, **kw)
        self.resources = resources
        self.blocks = Reassembler(self.clock)
        self.inflight = 0
        self.inflight_by = {}       # source address -> requests of it being handled
        self.links = link_format(resources)

    def on_request(self, msg, peer, key, oversize):
        if oversize:
            # Only the start was read. RFC 7959 2.9.3: 4.13 with Size1, and a Block1
            # option giving the block size to use instead.
            resp = error_response(errors.TooLarge(
                "datagram longer than %d bytes: send the body with Block1" % MAX_DATAGRAM))
            resp.options.append((BLOCK1, block_value(0, False, MAX_BLOCK_SZX)))
            self.reply(msg, peer, key, resp)
            return
        try:
            routed = self._route(msg, peer)
        except errors.ProtocolError as e:
            self.reply(msg, peer, key, error_response(e))
            return
        except MemoryError:
            self.reply(msg, peer, key, error_response(errors.busy("out of memory",
                                                                 OUT_OF_MEMORY_MAX_AGE)))
            return
        except Exception as e:      # a resource without `methods`, a bug: 5.00, carry on
            self._internal_error(msg, peer, key, e)
            return
        msg.payload = b""     # taken (copied) by now; do not keep the datagram alive
        if isinstance(routed, Response):
            self.reply(msg, peer, key, *self._finish(msg, routed))
            return
        addr = source_address(peer)
        mine = self.inflight_by.get(addr, 0)
        if self.inflight >= MAX_INFLIGHT or mine >= MAX_INFLIGHT_PER_SOURCE:
            self.blocks.release(routed.payload)
            self.reply(msg, peer, key, error_response(errors.busy(
                "%d requests in progress" % (self.inflight if mine < MAX_INFLIGHT_PER_SOURCE
                                              else mine), 1)))
            return
        separate = False
        if msg.mtype == CON:
            slow = getattr(routed.resource, "slow", None)
            try:
                separate = slow is not None and bool(slow(routed))
            except Exception as e:
                self.blocks.release(routed.payload)
                self._internal_error(msg, peer, key, e)
                return
            if separate:
                ack = Message(ACK, EMPTY, msg.mid).encode()
                self.dedup.answer(key, ack)     # a duplicate meanwhile gets the ACK again
                self.send(ack, peer)
        self.inflight += 1
        self.inflight_by[addr] = mine + 1
        asyncio.create_task(self._serve(msg, peer, key, routed, separate, addr))

    def _internal_error(self, msg, peer, key, e):
        self.stats["internal_errors"] += 1
        self.note(e)
        self.reply(msg, peer, key, problem(errors.INTERNAL_SERVER_ERROR, "Internal Server Error",
                                           type(e).__name__))

    def _route(self, msg, peer):
        """The checks before a handler runs. Returns a Response the endpoint answers
        itself (/.well-known/core, 2.31 Continue) or the Request for a resource."""
        bad = msg.bad_critical_option()
        if bad is not None:
            raise errors.Refusal(errors.BAD_OPTION, "bad-option", "Bad Option",
                                 "critical option %d not understood" % bad)
        if msg.get(PROXY_URI) is not None or msg.get(PROXY_SCHEME) is not None:
            raise errors.Refusal(errors.PROXYING_NOT_SUPPORTED, "no-proxy", "Proxying Not Supported",  # noqa: E501
                                 "this device is not a proxy")
        try:
            path = "/" + "/".join(msg.strings(URI_PATH))
            msg.strings(URI_QUERY)
        except UnicodeError:
            raise errors.MalformedError("Uri-Path or Uri-Query is not UTF-8")
        method = METHODS.get(msg.code)
        if path == WELL_KNOWN_CORE:
            if method != "GET":
                raise _not_allowed("%s takes GET only" % path)
            return Response(CONTENT, self.links, CF_LINK_FORMAT)
        resource = self.resources.get(path)
        if resource is None:
            raise errors.Refusal(errors.NOT_FOUND, "not-found", "Not Found",
                                 "no resource at %s" % path)
        if method not in resource.methods:
            raise _not_allowed("%s takes %s, not %s" % (
                path, " ".join(resource.methods), method or code_text(msg.code)))
        # These resources have no ETags and always exist (RFC 7252 5.10.8): If-Match holds
        # only in its empty form, If-None-Match never.
        if msg.get(IF_NONE_MATCH) is not None:
            raise _precondition("If-None-Match: %s exists" % path)
        matches = msg.get_all(IF_MATCH)
        if matches and b"" not in matches:
            raise _precondition("If-Match: no ETag of %s matches" % path)
        size1 = msg.uint(SIZE1)
        if size1 is not None and size1 > MAX_BODY:
            raise errors.TooLarge("Size1 announces %d bytes; at most %d" % (size1, MAX_BODY))
        block1 = msg.uint(BLOCK1)
        if block1 is None:
            if len(msg.payload) > MAX_BODY:
                raise errors.TooLarge("payload of %d bytes; at most %d"
                                   % (len(msg.payload), MAX_BODY))
            body = bytes(msg.payload)
        else:
            body = self.blocks.feed((peer, msg.code, path, msg.get(REQUEST_TAG)), peer,
                                    block1, msg.payload, msg.uint(SIZE1))
            if body is None:
                num, _, szx = block_fields(block1)
                resp = Response(CONTINUE)
                resp.options.append((BLOCK1, block_value(num, True, szx)))
                return resp
        return Request(msg, peer, path, method, body, resource)

    async def _serve(self, msg, peer, key, request, separate, addr):
        try:
            try:
                try:
                    resp = await request.resource.handle(request)
                finally:        # the body's reserved buffer may serve the next transfer
                    self.blocks.release(request.payload)
                if not isinstance(resp, Response):
                    raise TypeError("handler returned %r, not a Response" % (resp,))
            except errors.ProtocolError as e:
                resp = error_response(e)
            except Exception as e:
                self.stats["handler_errors"] += 1
                self.note(e)
                resp = problem(errors.INTERNAL_SERVER_ERROR, "Internal Server Error",
                               "%s while handling %s" % (type(e).__name__, request.path))
            resp, extra = self._finish(msg, resp)
            if not separate:
                self.reply(msg, peer, key, resp, extra)
                return
            out = self.message(resp, CON, self.client.next_mid(), msg.token, extra)
            try:
                await self.client.confirm(out, peer)
            except (asyncio.TimeoutError, Reset):
                self.stats["separate_lost"] += 1
        except Exception as e:     # e.g. a payload that is not bytes: never kill the loop
            self.stats["internal_errors"] += 1
            self.note(e)
        finally:
            self.inflight -= 1
            left = self.inflight_by.pop(addr, 1) - 1
            if left:
                self.inflight_by[addr] = left

    def _finish(self, msg, resp):
        """Accept (4.06), Block2 slicing and the Block1 echo. Returns (response, options)."""
        extra = []
        if resp.code >> 5 == 2:
            accept = msg.uint(ACCEPT)
            if accept is not None and len(resp.payload) and resp.content_format != accept:
                return problem(errors.NOT_ACCEPTABLE, "Not Acceptable",
                               "Content-Format %s only" % resp.content_format), extra
            resp = block2(msg, resp, extra, MAX_BLOCK_SZX)
        block1 = msg.uint(BLOCK1)
        if block1 is not None and resp.code != CONTINUE:
            num, _, szx = block_fields(block1)
            extra.append((BLOCK1, block_value(num, False, szx)))
        return resp, extra
