"""Provisioning over serial: the framing (bad CRC, truncated, oversized, noise: a clear
error, nothing changes, bounded memory), the request checks, and the service's rule that
new trust anchors, and every other change to what the device trusts, whom it reports to
or its clock, count only after a press on the panel: written as a serial attacker tries."""
# heapsize: 256K
import gc  # noqa: I001
import json

from mptest import eq, refused
from provision_doubles import Device, Link

# changes: loaded at the first provisioning request on the device; here at the start,
# before the tests fragment the 256K heap
from meldbox.provision import changes, framing, request  # noqa: F401
from meldbox.provision.device import AppDevice, public_net
from meldbox.provision.service import ProvisionService

KEY1 = "11" * 32
KEY2 = "22" * 32
KEY3 = "33" * 32


def service(device=None, timeout_ms=60000):
    return ProvisionService(Link(), device or Device(), confirm_timeout_ms=timeout_ms)


def ask(svc, req):
    """Send one request as a frame; return the answers that came back."""
    svc.link.out = bytearray()
    svc.feed(framing.encode(json.dumps(req).encode()))
    return answers(svc)


def answers(svc):
    out = []
    for item in framing.Decoder().feed(bytes(svc.link.out)):
        assert isinstance(item, bytes), item
        out.append(json.loads(item))
    svc.link.out = bytearray()
    return out


def press(svc, dev, req, accept=True):
    """Send a request that must wait for the panel, check that it waits and changed
    nothing yet, then press A (accept) or B; returns (pending answer, final answers)."""
    saves, cfg, times = dev.store.saves, dict(dev.cfg), list(dev.times)
    out = ask(svc, req)
    eq(len(out), 1)
    eq(out[0].get("pending"), "confirm", repr(out))
    svc.tick()
    eq(answers(svc), [])                            # still waiting
    eq((dev.store.saves, dev.cfg, dev.times), (saves, cfg, times))
    dev.asked[1](accept)
    svc.tick()
    return out[0], answers(svc)


def provisioned(*entries):
    """A device that already trusts `entries` (applied directly, as at a previous press)."""
    dev = Device()
    dev.apply({"trust": [dict(e) for e in entries]})
    dev.store.saves = 0
    return dev


# --- framing --------------------------------------------------------------------------
def test_frames_round_trip_byte_by_byte():
    bodies = [b"", b"x", b'{"id": 1, "op": "info"}', bytes(range(256)) * 8]
    dec = framing.Decoder()
    got = []
    for body in bodies:
        for b in framing.encode(body):
            got.extend(dec.feed(bytes((b,))))
    eq(got, bodies)


def test_frame_of_the_largest_body_passes_and_one_more_byte_is_refused():
    body = b"a" * framing.MAX_BODY
    eq(framing.Decoder().feed(framing.encode(body)), [body])
    refused("frame-too-large", framing.encode, body + b"a")


def test_bad_crc_is_refused_and_the_next_frame_still_decodes():
    good = framing.encode(b"hello")
    bad = good[:-3] + (b"0" if good[-3:-2] != b"0" else b"1") + good[-2:]
    out = framing.Decoder().feed(bad + good)
    eq(len(out), 2)
    assert out[0].reason == "frame-crc", out
    eq(out[0].reason, "frame-crc")
    eq(out[1], b"hello")


def test_corrupted_body_is_refused():
    good = framing.encode(b"hello world")
    bad = good[:8] + (b"0" if good[8:9] != b"0" else b"1") + good[9:]
    out = framing.Decoder().feed(bad)
    assert out[0].reason == "frame-crc", out


def test_truncated_frames_are_refused():
    good = framing.encode(b"hello world")
    for cut in (3, 10, len(good) - 3, len(good) - 2):
        out = framing.Decoder().feed(good[:cut] + b"\n")
        eq(len(out), 1)
        assert out[0].reason == "frame-truncated", (cut, out)


def test_length_that_disagrees_with_the_body_is_refused():
    # a frame that announces 3 bytes but carries 5 (with a CRC made over what is sent)
    head = b"\x00\x03hello"
    from binascii import crc32, hexlify
    c = crc32(head) & 0xFFFFFFFF
    line = b"#" + hexlify(head + bytes((c >> 24, (c >> 16) & 255, (c >> 8) & 255, c & 255))) + b"\n"  # noqa: E501
    out = framing.Decoder().feed(line)
    assert out[0].reason == "frame-truncated", out


def test_announced_length_over_the_limit_is_refused():
    out = framing.Decoder(max_body=16).feed(b"#ffff" + b"00" * 10 + b"\n")
    assert out[0].reason == "frame-too-large", out
    eq(out[0].code, 0x8D)


def test_non_hex_frame_is_refused():
    out = framing.Decoder().feed(b"#0005zz" + b"00" * 8 + b"\n")
    assert out[0].reason == "frame-encoding", out


def test_hex_is_decoded_as_it_arrives_in_either_case_in_a_buffer_of_the_frame_bytes():
    dec = framing.Decoder(max_body=64)
    eq(len(dec.buf), 64 + framing.OVERHEAD)
    line = framing.encode(b"\xab\xcd upper")
    eq(dec.feed(b"#" + line[1:-1].upper() + b"\n"), [b"\xab\xcd upper"])
    out = dec.feed(line[:-2] + b"\n")          # one hex digit short
    eq(out[0].reason, "frame-truncated")
    eq(out[0].detail, "frame ends inside a byte")
    full = framing.encode(b"b" * 64)
    for piece in range(0, len(full), 7):        # in pieces, as a serial port delivers it
        got = dec.feed(full[piece:piece + 7])
    eq(got, [b"b" * 64])


def test_lines_that_are_not_frames_are_skipped():
    good = framing.encode(b"ok")
    out = framing.Decoder().feed(b"MicroPython v1.29 banner\r\n>>> \n\n" + good.replace(b"\n", b"\r\n"))  # noqa: E501
    eq(out, [b"ok"])


def test_oversized_line_is_refused_once_in_bounded_memory():
    dec = framing.Decoder(max_body=64)
    size = len(dec.buf)
    junk = b"#" + b"a" * 1023
    gc.collect()
    before = gc.mem_alloc()
    errors = []
    for _ in range(256):            # 256 KiB without a newline, more than the whole heap
        errors.extend(dec.feed(junk))
    gc.collect()
    grown = gc.mem_alloc() - before
    eq(len(errors), 1)
    assert errors[0].reason == "frame-too-large", errors
    eq(len(dec.buf), size)
    assert grown < 4096, grown
    eq(dec.feed(b"\n" + framing.encode(b"after")), [b"after"])


# --- the service ------------------------------------------------------------------------
def test_info_is_answered_with_the_request_id():
    svc = service()
    eq(ask(svc, {"id": 7, "op": "info"}), [{"id": 7, "ok": True, "dev": "meldbox-unprovisioned"}])


def test_language_and_time_zone_apply_at_once():
    dev = Device()
    svc = service(dev)
    out = ask(svc, {"id": 1, "op": "provision", "lang": "nl", "tz": "UTC"})
    eq(out, [{"id": 1, "ok": True, "applied": ["lang", "tz"]}])
    eq((dev.store.saves, dev.cfg["lang"], dev.cfg["tz"], dev.asked), (1, "nl", "UTC", None))


def test_setting_what_is_already_set_needs_no_press():
    dev = Device()
    dev.apply({"dev": "d1", "receipts": {"nl.eokm": "coap://hotline.example/r"}})
    svc = service(dev)
    out = ask(svc, {"id": 1, "op": "provision", "dev": "d1",
                    "receipts": {"nl.eokm": "coap://hotline.example/r"}})
    eq(out, [{"id": 1, "ok": True, "applied": ["dev", "receipts"]}])
    eq(dev.asked, None)


NET = {"ip": "192.0.2.10/24", "gw": "192.0.2.1", "dns": "192.0.2.53", "ntp": "ntp.example"}
# What a serial attacker would send, and the row the panel must show before it counts.
GUARDED = [
    ("device_id", {"dev": "evil.desk"},
     {"field": "dev", "old": "meldbox-unprovisioned", "new": "evil.desk"}),
    ("receipts_redirected", {"receipts": {"nl.eokm": "coap://attacker.example/r"}},
     {"field": "receipts", "iss": "nl.eokm", "old": None, "new": "coap://attacker.example/r"}),
    ("net_dns_and_ntp", {"net": NET},
     {"field": "net", "new": "192.0.2.10/24 gw 192.0.2.1 dns 192.0.2.53 ntp ntp.example"}),
    ("clock_back", {"time": 1704067200}, {"field": "time", "new": 1704067200}),
]


def _guarded_case(req, row, accept):
    def run():
        dev = Device()
        before = dict(dev.cfg)
        svc = service(dev)
        body = dict(req)
        body.update({"id": 40, "op": "provision"})
        pending, out = press(svc, dev, body, accept)
        eq((pending["keys"], pending["changes"]), ([], [row]))
        eq(dev.asked[0], [row])                     # the panel shows it
        if accept:
            eq(out, [{"id": 40, "ok": True, "applied": sorted(req)}])
            if "time" in req:
                eq(dev.times, [req["time"]])
            else:
                field = row["field"]
                eq(dev.cfg[field], dict(NET, dhcp=False) if field == "net" else req[field])
        else:
            eq((out[0]["id"], out[0]["error"], out[0]["code"]), (40, "not-confirmed", "4.03"))
            eq((dev.store.saves, dev.cfg, dev.times), (0, before, []))
    return run


def test_clock_set_back_to_revive_an_expired_key_waits_and_B_refuses_it():
    dev = provisioned({"iss": "nl.eokm", "key": KEY1, "not_after": 1750000000})
    svc = service(dev)
    out = ask(svc, {"id": 41, "op": "provision", "time": 1740000000})
    eq(out[0]["pending"], "confirm")
    eq(dev.times, [])                               # the expired key stays expired
    svc.tick()
    eq(dev.times, [])
    dev.asked[1](False)                             # B
    svc.tick()
    eq(answers(svc)[0]["error"], "not-confirmed")
    eq(dev.times, [])


def test_only_lang_and_tz_of_a_mixed_request_would_not_need_the_press():
    dev = Device()
    svc = service(dev)
    pending, out = press(svc, dev, {"id": 42, "op": "provision", "lang": "nl", "dev": "d2"}, False)
    eq(dev.cfg["lang"], "en")                       # a refused request changes nothing at all
    eq(dev.store.saves, 0)


def test_new_key_waits_for_the_panel_and_counts_after_a_press():
    dev = Device()
    svc = service(dev)
    out = ask(svc, {"id": 3, "op": "provision", "dev": "d1", "trust": [{"iss": "nl.eokm", "key": KEY1}]})  # noqa: E501
    fp = request.fingerprint(bytes.fromhex(KEY1) if hasattr(bytes, "fromhex") else b"\x11" * 32)
    dev_row = {"field": "dev", "old": "meldbox-unprovisioned", "new": "d1"}
    eq(out, [{"id": 3, "pending": "confirm", "timeout_s": 60,
              "keys": [{"iss": "nl.eokm", "fingerprint": fp, "not_after": None}],
              "changes": [dev_row]}])
    eq(dev.asked[0], [{"iss": "nl.eokm", "fingerprint": fp, "not_after": None}, dev_row])
    eq(dev.store.saves, 0)
    eq(dev.cfg["trust"], [])
    eq(dev.cfg["dev"], "meldbox-unprovisioned")     # nothing of the request before the press
    svc.tick()
    eq(answers(svc), [])                              # still waiting
    dev.asked[1](True)                                # A pressed
    svc.tick()
    eq(answers(svc), [{"id": 3, "ok": True, "applied": ["dev", "trust"]}])
    eq([(e["iss"], bytes(e["key"])) for e in dev.cfg["trust"]], [("nl.eokm", b"\x11" * 32)])
    eq(dev.cfg["dev"], "d1")


def test_rejected_on_the_panel_changes_nothing():
    dev = Device()
    svc = service(dev)
    ask(svc, {"id": 4, "op": "provision", "dev": "d1", "time": 1800000000,
              "trust": [{"iss": "nl.eokm", "key": KEY1}]})
    dev.asked[1](False)                               # B pressed
    svc.tick()
    out = answers(svc)
    eq(out[0]["error"], "not-confirmed")
    eq(out[0]["code"], "4.03")
    eq(out[0]["id"], 4)
    eq((dev.store.saves, dev.cfg["trust"], dev.cfg["dev"], dev.times), (0, [], "meldbox-unprovisioned", []))  # noqa: E501


def test_no_answer_on_the_panel_times_out_and_changes_nothing():
    dev = Device()
    svc = service(dev, timeout_ms=0)
    ask(svc, {"id": 5, "op": "provision", "trust": [{"iss": "nl.eokm", "key": KEY1}]})
    svc.tick()
    out = answers(svc)
    eq(out[0]["error"], "not-confirmed")
    eq(dev.cancelled, 1)
    dev.asked[1](True)                                # a press after the timeout counts for nothing  # noqa: E501
    svc.tick()
    eq(answers(svc), [])
    eq((dev.store.saves, dev.cfg["trust"]), (0, []))


def test_a_second_request_while_the_panel_asks_is_busy():
    dev = Device()
    svc = service(dev)
    ask(svc, {"id": 6, "op": "provision", "trust": [{"iss": "nl.eokm", "key": KEY1}]})
    out = ask(svc, {"id": 7, "op": "provision", "dev": "other"})
    eq((out[0]["id"], out[0]["error"], out[0]["code"]), (7, "busy", "5.03"))
    eq(ask(svc, {"id": 8, "op": "info"})[0]["ok"], True)     # info still answers
    eq(dev.cfg["dev"], "meldbox-unprovisioned")


def test_without_a_panel_new_keys_are_refused():
    dev = Device(panel=False)
    svc = service(dev)
    out = ask(svc, {"id": 9, "op": "provision", "trust": [{"iss": "nl.eokm", "key": KEY1}]})
    eq((out[0]["error"], out[0]["code"]), ("no-panel", "5.03"))
    eq(svc.pending, None)
    eq(dev.store.saves, 0)


def test_revoking_shortening_or_dropping_a_trusted_key_waits_for_the_panel():
    trusted = ({"iss": "nl.eokm", "key": KEY1, "not_after": 1900000000},
               {"iss": "nl.eokm", "key": KEY2}, {"iss": "nl.eokm", "key": KEY3})
    req = {"id": 10, "op": "provision", "trust": [
        {"iss": "nl.eokm", "key": KEY1, "revoked": True},
        {"iss": "nl.eokm", "key": KEY2, "not_after": 1850000000}]}      # KEY3 is dropped
    fp = request.fingerprint
    rows = [{"field": "trust", "iss": "nl.eokm", "fingerprint": fp(b"\x11" * 32),
             "change": "revoked", "not_after": None},
            {"field": "trust", "iss": "nl.eokm", "fingerprint": fp(b"\x22" * 32),
             "change": "not_after", "not_after": 1850000000},
            {"field": "trust", "iss": "nl.eokm", "fingerprint": fp(b"\x33" * 32),
             "change": "removed", "not_after": None}]
    dev = provisioned(*trusted)
    pending, out = press(service(dev), dev, req, False)                  # B: all keys stay
    eq((pending["keys"], pending["changes"]), ([], rows))
    eq(out[0]["error"], "not-confirmed")
    eq(len(dev.cfg["trust"]), 3)
    eq([e["revoked"] for e in dev.cfg["trust"]], [False, False, False])
    dev = provisioned(*trusted)
    pending, out = press(service(dev), dev, req, True)                   # A
    eq(out, [{"id": 10, "ok": True, "applied": ["trust"]}])
    eq([(e["revoked"], e["not_after"]) for e in dev.cfg["trust"]], [(True, None), (False, 1850000000)])  # noqa: E501


def test_widening_trust_in_a_known_key_needs_a_press():
    dev = provisioned({"iss": "nl.eokm", "key": KEY1, "not_after": 1900000000},
                      {"iss": "nl.eokm", "key": KEY2, "revoked": True})
    for entry in ({"iss": "nl.eokm", "key": KEY1},                           # no end any more
                  {"iss": "nl.eokm", "key": KEY1, "not_after": 1950000000},  # later end
                  {"iss": "nl.eokm", "key": KEY2},                           # revoked key trusted again  # noqa: E501
                  {"iss": "be.childfocus", "key": KEY1}):                    # same key, other issuer  # noqa: E501
        svc = service(dev)
        out = ask(svc, {"id": 11, "op": "provision", "trust": [entry]})
        eq(out[0].get("pending"), "confirm", repr(entry))
    eq(dev.store.saves, 0)


def test_only_the_new_keys_are_shown_for_confirmation():
    dev = provisioned({"iss": "nl.eokm", "key": KEY1})
    svc = service(dev)
    out = ask(svc, {"id": 12, "op": "provision", "trust": [
        {"iss": "nl.eokm", "key": KEY1}, {"iss": "nl.eokm", "key": KEY3}]})
    eq([k["fingerprint"] for k in out[0]["keys"]], [request.fingerprint(b"\x33" * 32)])


def test_bad_frame_gets_an_error_answer_and_changes_nothing():
    dev = Device()
    svc = service(dev)
    frame = framing.encode(json.dumps({"id": 1, "op": "provision", "dev": "x"}).encode())
    svc.feed(frame[:-4] + (b"0" if frame[-4:-3] != b"0" else b"1") + frame[-3:])
    out = answers(svc)
    eq(out, [{"id": None, "ok": False, "error": "frame-crc", "code": "4.00",
              "detail": "frame CRC does not match"}])
    eq(dev.store.saves, 0)


def test_failure_to_save_is_reported_and_the_time_stays():
    class Failing(Device):
        def apply(self, prov):
            raise OSError(28)
    dev = Failing()
    svc = service(dev)
    _, out = press(svc, dev, {"id": 13, "op": "provision", "dev": "d", "time": 1800000000})
    eq((out[0]["error"], out[0]["code"]), ("device-fault", "5.00"))
    eq(dev.times, [])


BAD = [
    ("not_json", None, b"{id: 1"),
    ("not_utf8", None, b'{"id": 1, "op": "info", "x": "\xff"}'),
    ("not_an_object", None, b"[1, 2]"),
    ("bad_id", None, b'{"id": "one", "op": "info"}'),
    ("negative_id", None, b'{"id": -1, "op": "info"}'),
    ("unknown_op", "unknown-op", {"op": "format"}),
    ("missing_op", "unknown-op", {}),
    ("unknown_field", None, {"op": "provision", "dev": "d", "colour": "red"}),
    ("nothing", None, {"op": "provision"}),
    ("dev_chars", None, {"op": "provision", "dev": "desk 1; rm"}),
    ("dev_long", None, {"op": "provision", "dev": "d" * 65}),
    ("dev_number", None, {"op": "provision", "dev": 5}),
    ("key_short", None, {"op": "provision", "trust": [{"iss": "nl.eokm", "key": "11" * 31}]}),
    ("key_not_hex", None, {"op": "provision", "trust": [{"iss": "nl.eokm", "key": "zz" * 32}]}),
    ("key_twice", None, {"op": "provision", "trust": [{"iss": "a", "key": KEY1}, {"iss": "a", "key": KEY1}]}),  # noqa: E501
    ("key_field", None, {"op": "provision", "trust": [{"iss": "a", "key": KEY1, "admin": True}]}),
    ("key_not_after_bool", None, {"op": "provision", "trust": [{"iss": "a", "key": KEY1, "not_after": True}]}),  # noqa: E501
    ("key_revoked_text", None, {"op": "provision", "trust": [{"iss": "a", "key": KEY1, "revoked": "yes"}]}),  # noqa: E501
    ("trust_not_list", None, {"op": "provision", "trust": {"iss": "a"}}),
    ("too_many_keys", None, {"op": "provision", "trust": [{"iss": "a%d" % i, "key": KEY1} for i in range(17)]}),  # noqa: E501
    ("receipt_not_coap", None, {"op": "provision", "receipts": {"nl.eokm": "http://x/receipts"}}),
    ("receipt_long", None, {"op": "provision", "receipts": {"nl.eokm": "coap://" + "h" * 300}}),
    ("lang", None, {"op": "provision", "lang": "de"}),
    ("tz", None, {"op": "provision", "tz": "PST"}),
    ("net_prefix", None, {"op": "provision", "net": {"ip": "192.0.2.10", "gw": "192.0.2.1"}}),
    ("net_octet", None, {"op": "provision", "net": {"ip": "192.0.2.300/24", "gw": "192.0.2.1"}}),
    ("net_dhcp_and_ip", None, {"op": "provision", "net": {"dhcp": True, "ip": "192.0.2.10/24", "gw": "192.0.2.1"}}),  # noqa: E501
    ("net_psk_short", None, {"op": "provision", "net": {"wifi": {"ssid": "desk", "psk": "short"}}}),  # noqa: E501
    ("net_ntp_chars", None, {"op": "provision", "net": {"ntp": "ntp example"}}),
    ("time_early", None, {"op": "provision", "time": 1000}),
    ("time_bool", None, {"op": "provision", "time": True}),
]


def _bad_case(expected, req):
    def run():
        dev = provisioned({"iss": "nl.eokm", "key": KEY1})
        before = dict(dev.cfg)
        svc = service(dev)
        svc.link.out = bytearray()
        if isinstance(req, bytes):
            svc.feed(framing.encode(req))
        else:
            body = dict(req)
            body["id"] = 30
            svc.feed(framing.encode(json.dumps(body).encode()))
        out = answers(svc)
        eq(len(out), 1)
        eq(out[0]["ok"], False)
        eq(out[0]["code"], "4.00")
        eq(out[0]["error"], expected or "bad-request")
        assert out[0]["detail"], out
        eq(dev.store.saves, 0)
        eq(dev.cfg, before)
        eq((dev.asked, dev.times, svc.pending), (None, [], None))
    return run


def cases():
    out = [("test_refused_" + name, _bad_case(expected, req)) for name, expected, req in BAD]
    for name, req, row in GUARDED:
        out.append(("test_%s_waits_and_A_applies_it" % name, _guarded_case(req, row, True)))
        out.append(("test_%s_waits_and_B_refuses_it" % name, _guarded_case(req, row, False)))
    return out


# --- the adapter on the app --------------------------------------------------------------
def test_info_of_the_app_shows_fingerprints_and_hides_the_wifi_passphrase():
    class Obj:
        pass
    app = Obj()
    app.config = {"dev": "d1", "trust": [{"iss": "nl.eokm", "key": b"\x11" * 32, "not_after": None,
                                          "revoked": False}],
                  "receipts": {}, "lang": "en", "tz": "CET",
                  "net": {"dhcp": True, "wifi": {"ssid": "desk", "psk": "secret-passphrase"}}}
    app.state = lambda: {"fw": "0.1.0", "active": 2, "outbox": 1, "clock": "rtc",
                         "flash_used": 4096, "flash_total": 1441792}
    app.signing_key = Obj()
    app.signing_key.public = b"\x22" * 32
    app.clock = Obj()
    app.clock.now = lambda: 1800000000
    app.clock.source = lambda: "rtc"
    app.board = Obj()
    app.board.name = "w5500-evb-pico2"
    app.board.heap_budget = 256 * 1024
    info = AppDevice(config=lambda: app.config, apply=None, set_time=None, panel=lambda: None,
                     state=app.state, clock=app.clock, public_key=app.signing_key.public,
                     board_name=app.board.name, heap_budget=app.board.heap_budget).info()
    eq(info["fingerprint"], request.fingerprint(b"\x22" * 32))
    eq(info["device_key"], "22" * 32)
    eq(info["trust"], [{"iss": "nl.eokm", "fingerprint": request.fingerprint(b"\x11" * 32),
                        "not_after": None, "revoked": False}])
    eq(info["storage"], {"used": 4096, "total": 1441792, "active": 2, "outbox": 1})
    eq(info["clock"], {"now": 1800000000, "source": "rtc"})
    eq(info["net"]["wifi"], {"ssid": "desk", "psk": "***"})
    assert "secret" not in json.dumps(info)
    eq(public_net(None), {})


def test_a_clock_that_cannot_be_set_is_reported_after_the_settings_were_saved():
    class NoClock(Device):
        def set_time(self, t):
            raise OSError(5)
    dev = NoClock()
    svc = service(dev)
    _, out = press(svc, dev, {"id": 14, "op": "provision", "dev": "d", "time": 1800000000})
    eq((out[0]["error"], out[0]["code"]), ("device-fault", "5.00"))
    assert out[0]["detail"].startswith("dev saved"), out
    eq(dev.cfg["dev"], "d")
