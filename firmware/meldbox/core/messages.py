"""Hotline messages (PROTOCOL.md sections 2 and 3): the whole check from received bytes
to a validated Notice, Withdraw or Ping.

verify_message runs the checks in the protocol's order and the first failure decides:
size (4.13), COSE structure (4.00), alg (4.01), kid: unknown (4.01), revoked or expired
(4.03), signature (4.01), payload CBOR and claims (4.00), then iss and aud (4.03).
Claims come before iss/aud so that a message is only judged on who it names once it is
known to be well formed.
"""

from meldbox.core import cbor, cose, ed25519, errors

MAX_COSE_BYTES = 8192
MAX_FUTURE_IAT = 300          # seconds an iat may lead the device's trusted time
# Every time field is a POSIX time in this range (2020-01-01 to 2100-01-01): a claim in
# milliseconds, or near 2^64, is refused before it can reach the clock or a deadline.
TIME_MIN = 1577836800
TIME_MAX = 4102444800
WITHIN_MIN = 60
WITHIN_MAX = 2592000          # 30 days
MAX_ITEMS = 64
MAX_URL_BYTES = 2048
LONG_TEXT = 256               # bytes; longer text claims are decoded as cbor.Text views
MAX_NOTE_CHARS = 280
ID_MIN, ID_MAX = 8, 32
CATEGORIES = ("csam", "terror", "other")
ITEM_KEYS = ("url", "ip", "sha256")


class Message:
    """Fields every message has. `raw` is the exact bytes received, `nh` the hash of what
    their signature covers (cose.notice_hash)."""
    __slots__ = ("t", "id", "iss", "aud", "iat", "kid", "raw", "nh")


class Ping(Message):
    __slots__ = ()


class Withdraw(Message):
    __slots__ = ("ref",)


class Item:
    __slots__ = ("url", "ip", "sha256")

    def __init__(self, url, ip=None, sha256=None):
        self.url = url
        self.ip = ip
        self.sha256 = sha256


class Notice(Message):
    __slots__ = ("due", "within", "cat", "basis", "ref", "items", "lang", "note", "contact",
                 "redress", "replaces", "nodisclose", "preserve", "test")


def verify_message(cose_bytes, trust, device_id, now, clock_trusted=True):
    """Verify and validate one message; returns a Notice, Withdraw or Ping, or raises the
    errors.ProtocolError of the first failed check."""
    if len(cose_bytes) > MAX_COSE_BYTES:
        raise errors.TooLarge("COSE object of %d bytes, at most %d"
                              % (len(cose_bytes), MAX_COSE_BYTES))
    # No copy: the payload is decoded as a view of the received buffer, which the store
    # writes as it is (an 8 KiB notice must not need three 8 KiB blocks of heap).
    raw = cose_bytes
    sign1 = cose.decode_sign1(raw)
    cose.check_alg(sign1)
    signers = _signers(sign1, trust, now)
    try:
        # Long texts stay in the received buffer: a notice's URLs (up to 8 KiB of them)
        # need no blocks of their size on a fragmented heap; other fields become str.
        claims = cbor.loads(sign1.payload, long_text=LONG_TEXT)
        msg = parse_claims(claims, now, clock_trusted)
        if not _issued_by(msg.iss, signers):
            raise errors.Forbidden("wrong-issuer", "iss %s is not the issuer of key %s (%s)"
                                     % (short(msg.iss), sign1.kid.hex(), signers[0].iss))
        if msg.aud != device_id:
            raise errors.Forbidden("wrong-device", "aud %s is not this device (%r)"
                                       % (short(msg.aud), device_id))
    except errors.ProtocolError as e:
        e.authenticated = True      # signed by a trusted key: its claims may be shown
        raise
    msg.kid = sign1.kid
    msg.raw = raw
    msg.nh = cose.notice_hash(sign1)
    return msg


def _signers(sign1, trust, now):
    """The trusted, live keys under the message's kid whose signature verifies."""
    keys = trust.lookup(sign1.kid)
    if not keys:
        raise errors.Unauthorized("unknown-key", "kid %s is not trusted" % sign1.kid.hex())
    live = [k for k in keys if not k.revoked and not k.expired(now)]
    if not live:
        if all(k.revoked for k in keys):
            raise errors.Forbidden("revoked-key",
                                   "key %s of %s is revoked" % (sign1.kid.hex(), keys[0].iss))
        key = [k for k in keys if not k.revoked][0]
        raise errors.Forbidden("expired-key", "key %s of %s expired at %d, now %d"
                                % (sign1.kid.hex(), key.iss, key.not_after, now))
    # The Sig_structure as parts: the payload stays in the received buffer, uncopied.
    tbs = cose.sig_structure_parts(sign1.protected_bytes, sign1.payload)
    signers = [k for k in live if ed25519.verify(k.public, tbs, sign1.signature)]
    if not signers:
        raise errors.Unauthorized("bad-signature",
                                  "signature does not verify with key %s" % sign1.kid.hex())
    return signers


def _issued_by(iss, signers):
    for key in signers:
        if key.iss == iss:
            return True
    return False


# --- claims (PROTOCOL.md section 3) ---------------------------------------------

def parse_claims(claims, now, clock_trusted=True):
    """Validate a decoded payload against section 3; returns the message object without
    the transport fields (kid, raw, nh). Raises ClaimsError with a detail text."""
    if not isinstance(claims, dict):
        raise errors.Malformed("claims", "payload must be a map, got %s" % _type_name(claims))
    v = _required(claims, "v", int)
    if v != 1:
        raise errors.Malformed("claims", "v %s, only version 1 is known" % short(v))
    t = _required(claims, "t", str)
    if t == "notice":
        msg = Notice()
    elif t == "withdraw":
        msg = Withdraw()
    elif t == "ping":
        msg = Ping()
    else:
        raise errors.Malformed("claims", "t %s is not notice, withdraw or ping" % short(t))
    msg.t = t
    msg.id = _bstr_sized(claims, "id", ID_MIN, ID_MAX)
    msg.iss = _required(claims, "iss", str)
    msg.aud = _required(claims, "aud", str)
    msg.iat = _time(claims, "iat")
    if clock_trusted and msg.iat > now + MAX_FUTURE_IAT:
        raise errors.Malformed("claims", "iat %d is %d s ahead of device time %d, at most %d"
                                 % (msg.iat, msg.iat - now, now, MAX_FUTURE_IAT))
    if t == "notice":
        _notice(claims, msg)
    elif t == "withdraw":
        msg.ref = _required(claims, "ref", bytes)
    return msg


def _notice(claims, msg):
    has_due, has_within = "due" in claims, "within" in claims
    if has_due == has_within:
        raise errors.Malformed("claims", "exactly one of due and within is required, got %s"
                                 % ("both" if has_due else "neither"))
    msg.due = msg.within = None
    if has_due:
        msg.due = _time(claims, "due")
        if msg.due <= msg.iat:
            raise errors.Malformed("claims", "due %d not after iat %d" % (msg.due, msg.iat))
    else:
        msg.within = _uint(claims, "within")
        if not WITHIN_MIN <= msg.within <= WITHIN_MAX:
            raise errors.Malformed("claims", "within %d s outside %d..%d"
                                     % (msg.within, WITHIN_MIN, WITHIN_MAX))
    msg.cat = _required(claims, "cat", str)
    if msg.cat not in CATEGORIES:
        raise errors.Malformed("claims", "cat %s is not csam, terror or other" % short(msg.cat))
    msg.basis = _required(claims, "basis", str)
    msg.ref = _required(claims, "ref", str)
    msg.items = _items(claims)
    msg.lang = _optional(claims, "lang", str)
    msg.note = _optional(claims, "note", str)
    if msg.note is not None and len(msg.note) > MAX_NOTE_CHARS:
        raise errors.Malformed("claims", "note: %d characters, at most %d"
                                 % (len(msg.note), MAX_NOTE_CHARS))
    msg.contact = _optional(claims, "contact", str)
    msg.redress = _optional(claims, "redress", str)
    msg.replaces = _optional(claims, "replaces", bytes)
    msg.nodisclose = _optional(claims, "nodisclose", bool, False)
    msg.preserve = _time(claims, "preserve") if "preserve" in claims else None
    msg.test = _optional(claims, "test", bool, False)


def _items(claims):
    items = _required(claims, "items", list)
    if not 1 <= len(items) <= MAX_ITEMS:
        raise errors.Malformed("claims", "items: %d entries, at least 1 and at most %d"
                                 % (len(items), MAX_ITEMS))
    # Each map is replaced by its Item in the same list as it is read: a big notice's 64
    # maps are let go one by one instead of being held beside 64 Items (and a second list
    # grown by doubling) at the moment the heap is fullest.
    for i, item in enumerate(items):
        where = "items[%d]" % i
        if not isinstance(item, dict):
            raise errors.Malformed("claims",
                                   "%s must be a map, got %s" % (where, _type_name(item)))
        for key in item:
            if key not in ITEM_KEYS:
                raise errors.Malformed("claims", "%s: unknown key %s" % (where, short(key)))
        url = item.get("url")
        if type(url) is cbor.Text:          # a long URL, left in the buffer (its bytes)
            if len(url) > MAX_URL_BYTES:
                raise errors.Malformed("claims", "%s.url: %d bytes, at most %d"
                                         % (where, len(url), MAX_URL_BYTES))
        else:
            url = _required(item, "url", str, where)
        # The limit is on the encoded form, what the URL costs on the wire and on flash;
        # at most 4 bytes a character, so only long URLs need the encoding copy.
        if type(url) is str and len(url) * 4 > MAX_URL_BYTES:
            size = len(url.encode())
            if size > MAX_URL_BYTES:
                raise errors.Malformed("claims", "%s.url: %d bytes, at most %d"
                                         % (where, size, MAX_URL_BYTES))
        ip = _optional(item, "ip", str, None, where)
        sha = _optional(item, "sha256", bytes, None, where)
        if sha is not None and len(sha) != 32:
            raise errors.Malformed("claims",
                                   "%s.sha256: %d bytes, expected 32" % (where, len(sha)))
        items[i] = Item(url, ip, sha)
    return items


def _required(claims, key, typ, where=""):
    if key not in claims:
        raise errors.Malformed("claims", "%s%s missing" % (_prefix(where), key))
    return _typed(claims[key], key, typ, where)


def _optional(claims, key, typ, default=None, where=""):
    if key not in claims:
        return default
    return _typed(claims[key], key, typ, where)


def _typed(value, key, typ, where):
    # type() rather than isinstance(): a bool must not pass for an int (CPython), and
    # bytes/list may come from the decoder as their exact types only.
    if typ is str and type(value) is cbor.Text:
        return str(value)
    if type(value) is not typ:
        raise errors.Malformed("claims", "%s%s must be %s, got %s"
                                 % (_prefix(where), key, _TYPE_NAMES[typ], _type_name(value)))
    return value


def _uint(claims, key):
    value = _required(claims, key, int)
    if value < 0:
        raise errors.Malformed("claims", "%s %d is negative" % (key, value))
    return value


def _time(claims, key):
    value = _uint(claims, key)
    if not TIME_MIN <= value <= TIME_MAX:
        raise errors.Malformed("claims", "%s %d is not a POSIX time in seconds from %d to %d"
                                 % (key, value, TIME_MIN, TIME_MAX))
    return value


def _bstr_sized(claims, key, lo, hi):
    value = _required(claims, key, bytes)
    if not lo <= len(value) <= hi:
        raise errors.Malformed("claims",
                               "%s: %d bytes, expected %d to %d" % (key, len(value), lo, hi))
    return value


_TYPE_NAMES = {int: "an integer", str: "a text string", bytes: "a byte string",
               list: "an array", bool: "a bool", dict: "a map"}


def _type_name(value):
    if value is None:
        return "nil"
    return _TYPE_NAMES.get(type(value), type(value).__name__)


def short(value, limit=40):
    """repr of a peer's value for a detail text, cut so that an error stays small."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _prefix(where):
    return where + "." if where else ""
