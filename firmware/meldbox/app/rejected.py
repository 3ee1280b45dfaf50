"""The last messages the device refused, for the panel (a bounded ring in RAM)."""
MAX_REJECTED = 8


class Rejected:
    def __init__(self):
        self.entries = []   # newest first: (at, issuer, reason, detail)

    def add(self, at, issuer, err):
        detail = err.detail if hasattr(err, "detail") else str(err)
        self.entries.insert(0, (at, issuer, err.reason, detail[:80]))
        del self.entries[MAX_REJECTED:]
