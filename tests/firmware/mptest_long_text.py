# heapsize: 256K
"""Long text claims stay in the received buffer (cbor.loads long_text, cbor.Text): a
notice's 2 KiB URLs need no 2 KiB str each; the panel's host comes out of them without a
copy of the URL; other text claims still become str, and bad UTF-8 is still refused."""
from mptest import eq, refused

from meldbox.core import cbor
from meldbox.core.url import host_of


def test_text_longer_than_the_limit_is_a_view_of_the_buffer():
    url = "https://a.example/" + "x" * 300
    buf = bytearray(cbor.dumps({"url": url, "short": "abc"}))
    out = cbor.loads(buf, long_text=256)
    assert type(out["url"]) is cbor.Text, type(out["url"])
    eq(out["short"], "abc")
    eq(len(out["url"]), len(url))
    eq(str(out["url"]), url)
    whole = bytearray(cbor.dumps(url))
    view = cbor.loads(whole, long_text=256)
    whole[-1] = ord("y")        # a view: it sees the buffer, no copy was made
    eq(str(view)[-1], "y")


def test_without_the_option_text_is_str():
    out = cbor.loads(cbor.dumps("z" * 500))
    assert type(out) is str


def test_a_long_map_key_is_str():
    key = "k" * 300
    out = cbor.loads(cbor.dumps({key: 1}), long_text=256)
    eq(list(out), [key])


def test_long_text_with_bad_utf8_is_refused():
    raw = bytes([0x79, 0x01, 0x2C]) + b"a" * 299 + b"\xff"
    refused("cbor-invalid-utf8", cbor.loads, raw, 8, False, 256)


def test_host_of_a_view_equals_host_of_the_str():
    for url in ["https://user@h%d.example:8080/%s?q#f" % (i, "\u00e9" * 200) for i in range(2)] + [
            "https://only.host.example" + "/" * 0 + "", "no-scheme.example/x" + "y" * 300,
            "https://a@b@c.example?" + "q" * 300]:
        text = cbor.loads(cbor.dumps(url), long_text=1)
        assert type(text) is cbor.Text
        eq(host_of(text), host_of(url))
    eq(host_of("https://user@a.example:8080/x?y"), "a.example:8080")
    eq(host_of("https://a.example"), "a.example")
    eq(host_of("a.example/p@q"), "a.example")
