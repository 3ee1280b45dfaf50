"""CoAP over UDP for Meldbox (RFC 7252, block-wise RFC 7959, link format RFC 6690,
problem details RFC 9290), in layers as aiocoap has them:
- message: the datagram codec;
- messagelayer: the UDP transport, CON/NON/ACK/RST, dedup, the per-source rate limit;
  client: retransmission and tokens of our own requests;
- endpoint: the request layer, routing and block-wise transfers (blockwise);
- resource: what resources see and return (Request, Response, problem details);
- uri: coap:// URIs.

Memory: nothing a peer sends makes the endpoint allocate more than MAX_DATAGRAM at once,
except a Block1 body (up to MAX_BODY): up to one block on the heap, larger ones in the
buffer reserved at boot (coap/blockwise.py), grown on the heap only while it is in use. Large
contiguous allocations fail early on a fragmented 256K heap (measured: 160 KB free in
4 KB pieces), so bodies come block-wise, not as one big datagram.

Every limit a network peer can meet lives here, so the firmware README can list them:

| limit | value | what happens beyond it |
|---|---|---|
| request body (Block1 reassembled, or one datagram) | MAX_BODY = 8192 bytes | 4.13 with Size1 = 8192 (also when Size1 announces more) |
| one datagram | MAX_DATAGRAM = 1280 bytes (a 1024-byte block with room for options) | 4.13 with Size1 = 8192 and Block1 SZX 6: send block-wise (RFC 7959 2.9.3) |
| remembered message ids (duplicate detection) | DEDUP_ENTRIES = 16 | the oldest is forgotten |
| remembered replies (duplicate detection) | DEDUP_REPLY_BYTES = 2048 bytes in all | the oldest replies are forgotten with their ids: a duplicate of one is handled again |
| concurrent Block1 reassemblies | REASSEMBLY_SLOTS = 6 in total, 2 per source address, idle expiry 20 s (a repeated block 0 is no progress) | one is replaced: the address's own oldest when it holds 2; else one still at block 0, of the address holding most, least recently progressed; its next block gets 4.08 |
| source addresses in the rate table | RATE_PEERS = 32 | idle (refilled) entries are forgotten; then new addresses share one bucket |
| requests per source address, duplicates included | burst RATE_BURST = 100, RATE_PER_S = 40 per second | 4.29 with Max-Age, at most once a second; silence otherwise |
| requests being handled at once | MAX_INFLIGHT = 4, at most MAX_INFLIGHT_PER_SOURCE = 3 of them per source address | 5.03 with Max-Age 1 |
| response block (Block2) | 1024 bytes (SZX 6) or smaller if asked | |
"""  # noqa: E501

MAX_BODY = 8192
MAX_DATAGRAM = 1280  # longer ones are read cut (see endpoint.UdpTransport)
DEDUP_ENTRIES = 16
# The replies the duplicate detection keeps, in bytes: 16 signed receipts were 4.5 KiB of
# a 256K heap. Handling a duplicate again is safe (intake answers a known message with its
# stored receipt), so a forgotten reply costs time, not function.
DEDUP_REPLY_BYTES = 2048
REASSEMBLY_SLOTS = 6
REASSEMBLY_SLOTS_PER_PEER = 2
REASSEMBLY_IDLE_MS = 20000
RATE_PEERS = 32
# Per source address (any port): a hotline's burst of notices goes through (the device
# takes in about 30 notices/s on the unix port, fewer on the board), a flood gets 4.29.
RATE_BURST = 100
RATE_PER_S = 40
MAX_INFLIGHT = 4
MAX_INFLIGHT_PER_SOURCE = 3   # one address never holds them all
MAX_BLOCK_SZX = 6  # 1024-byte blocks, the largest RFC 7959 allows over UDP

# RFC 7252 section 4.8 transmission parameters (defaults; Endpoint takes others).
ACK_TIMEOUT_MS = 2000
ACK_RANDOM_FACTOR = 1.5
MAX_RETRANSMIT = 4
EXCHANGE_LIFETIME_MS = 247000
NON_LIFETIME_MS = 145000
