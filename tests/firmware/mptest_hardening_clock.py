"""The clock under hostile claims (issue 10, app/clock.py): one issuer's `iat` moves an
untrusted clock at most one step, never past another issuer's key not-after; two issuers
that agree move it; time fields out of range are refused at decode."""
from mptest import eq  # noqa: I001
from meldbox.app import clock as clk
from meldbox.app.clock import Clock
from meldbox.core import errors
from meldbox.core.messages import TIME_MAX, parse_claims
from meldbox.core.trust import TrustedKey, TrustStore

NOW = 1800000000


class Board:
    def __init__(self):
        self.t = NOW
        self.ticks = 0

    def rtc_trusted(self):
        return False

    def rtc_time(self):
        return self.t

    def ticks_ms(self):
        return self.ticks


def trust(other_not_after=None):
    return TrustStore([TrustedKey("a", b"\x01" * 32), TrustedKey("b", b"\x02" * 32),
                       TrustedKey("c", b"\x03" * 32, other_not_after)])


def test_one_issuer_moves_the_clock_one_step_at_most():
    c = Clock(Board(), trust())
    c.observe_iat(NOW, "a")
    eq(c.now(), NOW)
    for _ in range(5):      # saying it again and again does not walk the clock
        c.observe_iat(NOW + 30 * 86400, "a")
        eq(c.now(), NOW + clk.STEP_S)


def test_the_step_counts_from_the_agreed_time_plus_what_elapsed():
    board = Board()
    c = Clock(board, trust())
    c.observe_iat(NOW, "a")
    board.ticks += 7200 * 1000
    c.observe_iat(NOW + 86400, "a")
    eq(c.now(), NOW + 7200 + clk.STEP_S)


def test_first_claim_is_bounded_by_the_floor_window():
    board = Board()
    board.t = 0                     # a board whose clock lost its battery: 1970
    c = Clock(board, trust())
    c.observe_iat(TIME_MAX, "a")
    eq(c.now(), clk.TIME_FLOOR + clk.FIRST_WINDOW_S)


def test_one_issuer_never_moves_the_clock_past_another_issuers_not_after():
    c = Clock(Board(), trust(other_not_after=NOW + 1000))
    c.observe_iat(NOW + 1800, "a")        # first word: window, but capped by c's key
    eq(c.now(), NOW + 1000)
    assert not c.trust.keys[2].expired(c.now())
    c2 = Clock(Board(), trust(other_not_after=NOW + 1000))
    c2.observe_iat(NOW + 1800, "c")       # c may move past its own key's end
    eq(c2.now(), NOW + 1800)


def test_two_issuers_that_agree_move_the_clock_far():
    c = Clock(Board(), trust(other_not_after=NOW + 1000))
    c.observe_iat(NOW, "a")
    c.observe_iat(NOW + 86400, "a")
    eq(c.now(), NOW + 1000)
    c.observe_iat(NOW + 86400 + 100, "b")    # within AGREE_S of a's claim
    eq(c.now(), NOW + 86400)
    c.observe_iat(NOW + 3 * 86400, "a")      # and from there, one step again
    eq(c.now(), NOW + 86400 + clk.STEP_S)


def test_a_repeated_claim_of_one_issuer_is_no_agreement():
    c = Clock(Board(), trust())
    c.observe_iat(NOW, "a")
    c.observe_iat(NOW + 86400, "a")
    c.observe_iat(NOW + 86400, "a")
    eq(c.now(), NOW + clk.STEP_S)


def _claims(**kw):
    claims = {"v": 1, "t": "notice", "id": b"12345678", "iss": "a", "aud": "d", "iat": NOW,
              "within": 3600, "cat": "other", "basis": "b", "ref": "r", "items": [{"url": "u"}]}
    claims.update(kw)
    return {k: v for k, v in claims.items() if v is not None}


def test_time_fields_out_of_range_are_refused_with_a_detail():
    for key, value in (("iat", 2 ** 64 - 1), ("iat", NOW * 1000), ("iat", 5),
                       ("due", 2 ** 63), ("preserve", 2 ** 64 - 1), ("within", 2 ** 40)):
        changes = {key: value}
        if key == "due":
            changes["within"] = None
        try:
            parse_claims(_claims(**changes), NOW, False)
        except errors.ProtocolError as e:
            assert e.reason == "claims" and key in e.detail, (e.reason, e.detail)
        else:
            raise AssertionError("%s %d accepted" % (key, value))
