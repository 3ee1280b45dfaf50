"""What the device's time rests on (PROTOCOL.md section 7).

Sources, best first: a battery-backed RTC the board vouches for ("rtc"), an NTP sync
("ntp"), else the newest verified notice `iat` plus the time elapsed since it arrived
("hotline": a lower bound of the true time), else the board's free-running time
("untrusted"). Deadlines are computed from `now()`; with a lower bound the countdowns
never show more time left than can be justified.
"""
import time


class Clock:
    def __init__(self, board):
        self.board = board
        self._ntp_at = None      # (unix seconds, ticks_ms) of the last NTP sync
        self._hotline = None     # (newest verified iat, ticks_ms when it arrived)

    def _ticks_since(self, ticks):
        return time.ticks_diff(self.board.ticks_ms(), ticks) // 1000

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
            t, ticks = self._ntp_at
            return t + self._ticks_since(ticks)
        base = self.board.rtc_time()
        if src == "hotline":
            iat, ticks = self._hotline
            bound = iat + self._ticks_since(ticks)
            return bound if bound > base else base
        return base

    def synced_ntp(self, unix_seconds):
        self._ntp_at = (unix_seconds, self.board.ticks_ms())

    def observe_iat(self, iat):
        """A verified message says the true time is at least `iat`."""
        if self._hotline is None or iat > self._hotline[0] + self._ticks_since(self._hotline[1]):
            self._hotline = (iat, self.board.ticks_ms())
