"""What the device's time rests on (PROTOCOL.md section 7).

Sources, best first: a battery-backed RTC the board vouches for ("rtc"), an NTP sync
("ntp"), else a lower bound taken from verified messages' `iat` plus the time elapsed
since ("hotline"), else the board's free-running time ("untrusted"). Deadlines are
computed from `now()`; with a lower bound the countdowns never show more time left than
can be justified.

A signed `iat` is a claim of one issuer, and a rogue or mistaken issuer (milliseconds
for seconds) must not be able to move the clock far: that would expire every other
issuer's keys and make every deadline overdue. So, with no RTC or NTP:
- one issuer's word moves the lower bound at most STEP_S beyond the last agreed time
  (plus the time elapsed since); before any agreed time, at most FIRST_WINDOW_S beyond
  the build's floor TIME_FLOOR (or the board's own time, if later), and that first
  adopted value becomes the agreed time;
- two issuers whose claims lie within AGREE_S of each other agree: the earlier of the
  two claims becomes the agreed time, however far ahead;
- one issuer's word never moves the clock past another issuer's key not-after.
"""
import time

TIME_FLOOR = 1767225600     # 2026-01-01: no true time is earlier than this build
FIRST_WINDOW_S = 3 * 366 * 86400
STEP_S = 3600
AGREE_S = 600


class Clock:
    def __init__(self, board, trust=None):
        self.board = board
        self.trust = trust       # TrustStore: whose keys a claim must not expire
        self._ntp_at = None      # (unix seconds, ticks_ms) of the last NTP sync
        self._hotline = None     # (lower bound from iat claims, ticks_ms when set)
        self._agreed = None      # (time agreed on, ticks_ms when agreed)
        self._claims = {}        # issuer -> (its newest claim beyond the limit, ticks_ms)

    def _ticks_since(self, ticks):
        return time.ticks_diff(self.board.ticks_ms(), ticks) // 1000

    def _at(self, point):
        return point[0] + self._ticks_since(point[1])

    def source(self):
        if self.board.rtc_trusted():
            return "rtc"
        if self._ntp_at is not None:
            return "ntp"
        if self._hotline is not None:
            return "hotline"
        return "untrusted"

    def trusted(self):
        """True when `now()` rests on a source that can reject messages from the future."""
        return self.source() in ("rtc", "ntp")

    def now(self):
        src = self.source()
        if src == "rtc":
            return self.board.rtc_time()
        if src == "ntp":
            return self._at(self._ntp_at)
        base = self.board.rtc_time()
        if src == "hotline":
            bound = self._at(self._hotline)
            return bound if bound > base else base
        return base

    def synced_ntp(self, unix_seconds):
        self._ntp_at = (unix_seconds, self.board.ticks_ms())
        self._agreed = self._ntp_at

    def limit_for(self, iss):
        """How far one issuer's word may move the clock now (see the module's rules)."""
        if self._agreed is not None:
            limit = self._at(self._agreed) + STEP_S
        else:
            base = self.board.rtc_time()
            limit = (base if base > TIME_FLOOR else TIME_FLOOR) + FIRST_WINDOW_S
        for key in self.trust or ():
            na = key.not_after
            if key.iss != iss and not key.revoked and na is not None and na >= self.now():
                if na < limit:
                    limit = na
        return limit

    def observe_iat(self, iat, iss=None):
        """A verified message of issuer `iss` says the true time is at least `iat`."""
        if self.trusted():
            return
        ticks = self.board.ticks_ms()
        limit = self.limit_for(iss)
        if iat > limit:
            if self._agree(iat, iss, ticks):
                return
            self._claims[iss] = (iat, ticks)
            iat = limit
        if self._agreed is None:        # the first word heard sets the reference
            self._agreed = (iat, ticks)
        if self._hotline is None or iat > self._at(self._hotline):
            self._hotline = (iat, ticks)

    def _agree(self, iat, iss, ticks):
        """True when another issuer's pending claim lies within AGREE_S of `iat`: the
        earlier one becomes the agreed time."""
        for other, claim in self._claims.items():
            if other == iss:
                continue
            theirs = self._at(claim)
            if -AGREE_S <= theirs - iat <= AGREE_S:
                agreed = theirs if theirs < iat else iat
                self._agreed = self._hotline = (agreed, ticks)
                self._claims = {}
                return True
        return False
