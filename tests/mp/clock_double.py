"""A device clock standing still at `t` (tests move it by hand), trusted, from the RTC:
what the app's Clock offers intake, ledger and retention. Shared by firmware tests."""


class FrozenClock:
    def __init__(self, t):
        self.t = t

    def now(self):
        return self.t

    def source(self):
        return "rtc"

    def trusted(self):
        return True

    def observe_iat(self, iat, iss):
        pass
