"""The four panel buttons, debounced, with short and long presses.

`Buttons(read)`: `read()` returns the raw pressed state as a bit mask (A=1, B=2, X=4,
Y=8). `poll(now_ms)` is called every few milliseconds (a polling task, or after an IRQ)
and returns a list of events (name, "short" | "long"):

- a change counts once the raw state has held for DEBOUNCE_MS (contact bounce is ignored);
- "long" is emitted the moment a press has lasted LONG_MS while still held, so staff get
  feedback without letting go; that press then gives no "short" on release;
- "short" is emitted on release of a press that never became long.
"""
try:
    from time import ticks_diff
except ImportError:     # CPython
    def ticks_diff(a, b):
        return a - b

NAMES = "ABXY"
DEBOUNCE_MS = 20
LONG_MS = 1000
_NONE = ()


class Buttons:
    def __init__(self, read, debounce_ms=DEBOUNCE_MS, long_ms=LONG_MS):
        self.read = read
        self.debounce_ms = debounce_ms
        self.long_ms = long_ms
        self.raw = 0            # last raw mask read
        self.raw_since = None   # when the raw mask last changed
        self.stable = 0         # debounced mask
        self.down_at = [0, 0, 0, 0]
        self.long_sent = 0      # mask of held buttons whose "long" was already sent

    def poll(self, now_ms):
        raw = self.read() & 15
        if raw != self.raw or self.raw_since is None:
            self.raw = raw
            self.raw_since = now_ms
        events = _NONE
        if raw != self.stable and ticks_diff(now_ms, self.raw_since) >= self.debounce_ms:
            changed = raw ^ self.stable
            for i in range(4):
                bit = 1 << i
                if not changed & bit:
                    continue
                if raw & bit:
                    self.down_at[i] = self.raw_since    # pressed since the bounce began
                else:
                    if not self.long_sent & bit:
                        events = self._add(events, NAMES[i], "short")
                    self.long_sent &= ~bit
            self.stable = raw
        held = self.stable & ~self.long_sent
        if held:
            for i in range(4):
                bit = 1 << i
                if held & bit and ticks_diff(now_ms, self.down_at[i]) >= self.long_ms:
                    self.long_sent |= bit
                    events = self._add(events, NAMES[i], "long")
        return events

    @staticmethod
    def _add(events, name, kind):
        if events is _NONE:
            events = []
        events.append((name, kind))
        return events
