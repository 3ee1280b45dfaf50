"""Big notices in a row at the default 256K heap: several 8192-byte notices of different
shapes (40 URLs of ~180 bytes, four URLs near the 2048-byte limit, 64 items) from a fresh
key are all taken (2.01), and the device still answers and reads every datagram after."""

import pytest

from tests.host.e2e import nh, protocol, run_client, send, status

MAX_MESSAGE = 8192


def exactly(hotline, size, urls):
    """A notice whose COSE_Sign1 is exactly `size` bytes (the last URL takes the slack)."""
    urls = list(urls)
    for _ in range(6):
        cose, _ = hotline.notice(urls=urls)
        if len(cose) == size:
            return cose
        delta = size - len(cose)
        urls[-1] = urls[-1] + "q" * delta if delta > 0 else urls[-1][:delta]
    raise AssertionError("could not hit %d bytes (last %d)" % (size, len(cose)))


def forty_urls(i):
    return ["https://cdn%d.example.org/%d/%s" % (k, i, "p" * 150) for k in range(40)]


def long_urls(i):
    """URLs near the 2048-byte limit: strings of 2 KB in one piece each."""
    return ["https://big%d.example.org/%d/%s" % (k, i, "l" * 1980) for k in range(4)]


def sixty_four_items(i):
    return ["https://i%d.example.org/%d/%s" % (k, i, "s" * 80) for k in range(64)]


SHAPES = [forty_urls, long_urls, sixty_four_items]


async def post_all(ctx, dev, notices):
    codes = []
    for cose in notices:
        reply = await send(ctx, dev, cose)
        codes.append(reply.code)
        if reply.code == "2.01":
            assert protocol.verify_receipt(reply.payload, dev.device_key)["nh"] == nh(cose)
    await status(ctx, dev)  # still answers: its receive loop is alive
    return codes


def assert_memory_left(dev):
    mem = dev.control("mem")
    # no datagram went unread for want of memory; the scratch block of a datagram read
    # and a littlefs file object still find room
    assert mem["coap"]["dropped_no_memory"] == 0 and mem["coap"]["loop_no_memory"] == 0, mem
    assert mem["largest"] >= 1281, mem


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: s.__name__)
def test_several_8192_byte_notices_in_a_row_are_all_taken(devices, hotline, shape):
    dev = devices(hotline)
    notices = [exactly(hotline, MAX_MESSAGE, shape(i)) for i in range(4)]
    codes = run_client(post_all, dev, notices)
    assert codes == ["2.01"] * 4
    assert_memory_left(dev)


def test_mixed_shapes_in_a_row_are_all_taken(devices, hotline):
    dev = devices(hotline)
    notices = [exactly(hotline, MAX_MESSAGE, shape(i)) for i in range(2) for shape in SHAPES]
    assert run_client(post_all, dev, notices) == ["2.01"] * len(notices)
    assert_memory_left(dev)
