"""Confirming a provisioning change: the panel shows every issuer key being added with its
fingerprint, and every other change to what the device trusts, whom it reports to or its
clock (device id, revoked or removed keys, receipt URIs, network, time); A applies it, B
refuses it (meldbox/provision waits for this). A longer list scrolls: A goes down until
every row has been on screen, Y goes back up. A change made over the serial port takes
effect only after a person looked at it here."""
from meldbox.ui import palette as P
from meldbox.ui import timefmt
from meldbox.ui.screens.base import DocScreen


class TrustScreen(DocScreen):
    def __init__(self, panel, rows, on_done, back):
        super().__init__(panel)
        self.rows = rows            # new keys ({"fingerprint"...}) and changes ({"field"...})
        self.on_done = on_done
        self.back = back            # the screen to return to
        self.only_keys = all("field" not in r for r in rows)

    @property
    def title_key(self):
        return "title.trust" if self.only_keys else "title.change"

    @property
    def hints(self):
        # A applies only once every row has been on screen: until then it scrolls down
        return ("hint.down" if self.more() else "hint.trust" if self.only_keys else "hint.apply",
                "hint.refuse", None, "hint.up" if self.first > 0 else None)

    def more(self):
        return len(self.doc()) > self.first + self.visible()

    def build(self):
        p, t = self.p, self.t
        d = self.new_doc(p.canvas)
        keys = [r for r in self.rows if "field" not in r]
        if keys:
            d.add(t("trust.intro"), P.AMBER)
            for k in keys:
                d.add(k["fingerprint"], P.FG, label=k["iss"], indent=12)
                if k.get("not_after"):
                    d.add(t("dev.until") % self.day(k["not_after"]), P.DIM, label="   ", indent=12)
        if not self.only_keys:
            d.add(t("change.intro"), P.AMBER)
        for r in self.rows:
            if "field" in r:
                self.add_change(d, r)
        return d

    def day(self, when):
        return timefmt.date_time(when, self.p.tz)[:10]

    def add_change(self, d, r):
        t, field = self.t, r["field"]
        if field == "trust":
            d.add(r["fingerprint"], P.FG, label=r["iss"], indent=12)
            how = r["change"]
            text = t("change.key." + how)
            if how == "not_after":
                text = text % (self.day(r["not_after"]) if r["not_after"] else "-")
            d.add(text, P.RED if how != "not_after" else P.AMBER, label="   ", indent=12)
        elif field == "time":
            now, new = self.p.now, r["new"]
            tz = self.p.tz
            d.add("%s -> %s" % (timefmt.date_time(now, tz), timefmt.date_time(new, tz)),
                  P.FG, label=t("change.time"), indent=12)
            if new < now:
                d.add(t("change.time.back"), P.RED, indent=12)
        elif field == "receipts":
            d.add(r["new"], P.FG, label="%s %s" % (t("change.receipts"), r["iss"]), indent=12)
            d.add(t("change.was") % (r["old"] or "-"), P.DIM, label="   ", indent=12)
        elif field == "dev":
            d.add("%s -> %s" % (r["old"], r["new"]), P.FG, label=t("change.dev"), indent=12)
        else:                                   # net
            d.add(r["new"], P.FG, label=t("change.net"), indent=12)

    def draw(self, c):
        self.draw_doc(c)

    def button(self, name, kind):
        if name == "A" and self.more() or name == "Y":
            if self.scroll("B" if name == "A" else "A"):
                self.p.redraw()
        elif name in ("A", "B"):
            self.finish(name == "A")

    def finish(self, accepted):
        done, self.on_done = self.on_done, None
        p = self.p
        p.go(self.back)
        if self.only_keys:
            key = "trust.accepted" if accepted else "trust.refused"
        else:
            key = "change.accepted" if accepted else "change.refused"
        p.toast(self.t(key), P.GREEN if accepted else P.MID)
        if done is not None:
            done(accepted)
