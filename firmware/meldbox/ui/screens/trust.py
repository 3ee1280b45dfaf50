"""Confirming new trust anchors from provisioning: the panel shows every issuer key being
added with its fingerprint; A trusts them, B refuses (meldbox/provision waits for this).
A key added over the serial port takes effect only after a person looked at it here."""
from meldbox.ui import palette as P
from meldbox.ui import timefmt
from meldbox.ui.screens.base import DocScreen


class TrustScreen(DocScreen):
    title_key = "title.trust"

    def __init__(self, panel, keys, on_done, back):
        super().__init__(panel)
        self.keys = keys
        self.on_done = on_done
        self.back = back            # the screen to return to

    @property
    def hints(self):
        return ("hint.trust", "hint.refuse", None, None)

    def footer(self):
        return ""

    def build(self):
        p, t = self.p, self.t
        d = self.new_doc(p.canvas)
        d.add(t("trust.intro"), P.AMBER)
        for k in self.keys:
            d.add(k["fingerprint"], P.FG, label=k["iss"], indent=12)
            if k.get("not_after"):
                d.add(t("dev.until") % timefmt.date_time(k["not_after"], p.tz)[:10], P.DIM,
                      label="   ", indent=12)
        return d

    def draw(self, c):
        self.draw_doc(c)

    def button(self, name, kind):
        if name in ("A", "B"):
            self.finish(name == "A")

    def finish(self, accepted):
        done, self.on_done = self.on_done, None
        p = self.p
        p.go(self.back)
        p.toast(self.t("trust.accepted" if accepted else "trust.refused"),
                P.GREEN if accepted else P.MID)
        if done is not None:
            done(accepted)
