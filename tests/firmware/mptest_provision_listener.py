"""The provisioning listener (provision/listener.py): the service and what only it needs
are loaded for a request and let go once nothing waits for the panel, so the heap does
not carry them between provisioning sessions; answers are the service's own."""
# heapsize: 256K
# firmware: rom
import gc  # noqa: I001
import json
import sys

from mptest import eq
from provision_doubles import Device, Link

from meldbox.provision import framing
from meldbox.provision.listener import ON_DEMAND, Listener

KEY1 = "11" * 32


def exchange(listener, req):
    listener.link.out = bytearray()
    listener.feed(framing.encode(json.dumps(req).encode()))
    listener.settle()
    return [json.loads(item) for item in framing.Decoder().feed(bytes(listener.link.out))]


def loaded():
    return [name for name in ON_DEMAND if name in sys.modules]


def test_an_info_request_loads_the_service_and_lets_it_go():
    listener = Listener(Link(), Device())
    eq(loaded(), [], "nothing loaded before a request")
    out = exchange(listener, {"id": 7, "op": "info"})
    eq(out, [{"id": 7, "ok": True, "dev": Device().cfg["dev"]}])
    eq(loaded(), [], "let go after the answer")
    import meldbox.provision as package
    eq("service" in package.__dict__, False, "nor kept by the package")


def test_the_service_stays_while_the_panel_is_asked_then_goes():
    dev = Device()
    listener = Listener(Link(), dev)
    out = exchange(listener, {"id": 8, "op": "provision", "trust": [{"iss": "nl.eokm", "key": KEY1}]})  # noqa: E501
    eq(out[0].get("pending"), "confirm", repr(out))
    eq("meldbox.provision.service" in loaded(), True, "kept while the panel asks")
    dev.asked[1](True)                                  # A pressed
    listener.link.out = bytearray()
    listener.settle()
    final = [json.loads(i) for i in framing.Decoder().feed(bytes(listener.link.out))]
    eq(final, [{"id": 8, "ok": True, "applied": ["trust"]}])
    eq(loaded(), [], "let go once answered")
    eq([e["iss"] for e in dev.cfg["trust"]], ["nl.eokm"], "and the key counts")


def test_exchanges_leave_the_heap_as_they_found_it():
    listener = Listener(Link(), Device())
    exchange(listener, {"id": 1, "op": "info"})
    gc.collect()
    after_first = gc.mem_alloc()
    from meldbox.provision import service  # noqa: F401
    gc.collect()
    with_service = gc.mem_alloc()
    del service
    for i in range(5):
        exchange(listener, {"id": 2 + i, "op": "info"})
    gc.collect()
    after_five = gc.mem_alloc()
    eq(with_service - after_first > 4096, True, "the service costs %d bytes loaded"
       % (with_service - after_first))
    eq(after_five - after_first < 512, True, "grew by %d bytes" % (after_five - after_first))


def test_the_run_loop_step_reads_the_link_and_answers():
    listener = Listener(Link(), Device())
    listener.link.inbox += b"noise\n" + framing.encode(b'{"id": 21, "op": "info"}')
    n = listener.link.read(listener.rx)
    listener.feed(memoryview(listener.rx)[:n])
    listener.settle()
    out = [json.loads(i) for i in framing.Decoder().feed(bytes(listener.link.out))]
    eq([o.get("id") for o in out], [21], "the noise skipped, the request answered")
    eq(loaded(), [], "let go")
