"""The device screen (id, device key fingerprint, firmware, trusted issuer keys with a
warning from 30 days before a key's not-after, storage) and the refused messages
(time, claimed issuer, reason). A/B scroll; on the device screen X opens the refused
messages and Y goes back to the list; on the refused messages Y goes back."""
from meldbox.ui import palette as P
from meldbox.ui import timefmt
from meldbox.ui.i18n import reason
from meldbox.ui.layout import HANG
from meldbox.ui.screens.base import DocScreen

WARN_S = 30 * 86400


class DeviceScreen(DocScreen):
    title_key = "title.device"
    x_hint = "hint.refused"

    def build(self):
        p = self.p
        t = self.t
        info = p.model.device()
        now = p.now
        d = self.new_doc(p.canvas)
        d.add(info.dev, label=t("dev.id"))
        d.add(info.key_fpr, label=t("dev.key"), indent=12)
        d.add(info.version, label=t("dev.version"))
        total = info.storage_total or 1
        d.add(t("dev.storage_fmt") % (info.storage_used // 1024, info.storage_total // 1024,
                                       info.storage_used * 100 // total),
              P.AMBER if info.storage_used * 10 > total * 9 else P.FG, label=t("dev.storage"))
        src = p.src if p.src in ("rtc", "ntp", "hotline") else "untrusted"
        d.add(t("dev.clock." + src), P.FG if src in ("rtc", "ntp") else P.AMBER, label=t("dev.clock"))  # noqa: E501
        d.add(t("dev.refused") % len(p.model.rejected()))
        keys = info.keys
        if not keys:
            d.add(t("dev.nokeys"), P.RED)
        else:
            d.add("", label=t("dev.keys") % len(keys))
        for iss, fpr, not_after, revoked in keys:
            d.add(fpr, P.FG, label="  " + iss, indent=12)
            if revoked:
                d.add(t("dev.revoked"), P.RED, label="   ", indent=HANG)
            elif not_after is None:
                d.add(t("dev.valid"), P.DIM, label="   ", indent=HANG)
            elif not_after <= now:
                d.add(t("dev.expired") % timefmt.date_time(not_after, p.tz), P.RED, label="   ",
                      indent=HANG)
            elif not_after - now <= WARN_S:     # warn from 30 days before: time to rotate
                d.add(t("dev.expiring") % ((not_after - now) // 86400,
                                           timefmt.date_time(not_after, p.tz)[:10]),
                      P.AMBER, label="   ", indent=HANG)
            else:
                d.add(t("dev.until") % timefmt.date_time(not_after, p.tz)[:10], P.DIM, label="   ",
                      indent=HANG)
        return d

    def draw(self, c):
        self.draw_doc(c)

    def button(self, name, kind):
        p = self.p
        if name == "A" or name == "B":
            if self.scroll(name):
                self.redraw_doc()
        elif name == "X":
            p.show("rejected")
        elif name == "Y":
            p.show("list")


def fields(r):
    """(at, iss, reason, detail) of a RejectedView or of a plain tuple."""
    if isinstance(r, tuple):
        return r
    return r.at, r.iss, r.reason, r.detail


class RejectedScreen(DocScreen):
    title_key = "title.rejected"

    def build(self):
        p = self.p
        t = self.t
        d = self.new_doc(p.canvas)
        entries = p.model.rejected()
        if not entries:
            d.add(t("rej.none"), P.GREEN)
        today = timefmt.date_time(p.now, p.tz)[:10]
        for r in entries:
            at, iss, token, detail = fields(r)
            when = timefmt.date_time(at, p.tz, True)
            if when[:10] == today:      # today: the time is enough
                when = when[11:19]
            else:
                when = when[:16]
            d.add(t("rej.issuer") % iss if iss else t("rej.unknown_issuer"), P.FG, label=when,
                  indent=HANG)
            d.add(reason(token, p.lang), P.RED, label="  ", indent=HANG)
            d.add((detail + " " if detail else "") + "[" + token + "]", P.DIM, label="  ",
                  indent=HANG)
        return d

    def draw(self, c):
        self.draw_doc(c)

    def button(self, name, kind):
        if name == "A" or name == "B":
            if self.scroll(name):
                self.redraw_doc()
        elif name == "Y":
            self.p.show("device")
