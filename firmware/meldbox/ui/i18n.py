"""Every text on the panel, in English and Dutch (the first hotlines' language).

One table, a line per text: `key|English|Dutch` (lines starting with # are comments).
Kept as a single string rather than a dict of tuples because every small object costs
a heap block (32 bytes on the 64-bit simulator): this way the table is one object.
`text(key, lang)` finds the line; `%` placeholders take arguments as shown. Refusal
reasons are core/errors.py tokens under `why.`.
"""
LANGS = ("en", "nl")

TABLE = """
# screen titles
title.list|Notices|Meldingen
title.actions|What did you do?|Wat heb je gedaan?
title.reason|Why not?|Waarom niet?
title.confirm|Confirm|Bevestigen
title.done|Recorded|Vastgelegd
title.failed|Not recorded|Niet vastgelegd
title.device|This device|Dit apparaat
title.rejected|Refused messages|Geweigerde berichten
title.trust|Trust new keys?|Nieuwe sleutels vertrouwen?
title.change|Apply this change?|Deze wijziging toepassen?
# button hints
hint.up|Up|Omhoog
hint.down|Down|Omlaag
hint.open|Open|Open
hint.device|Device|Apparaat
hint.back|Back|Terug
hint.list|List|Lijst
hint.actions|Act|Actie
hint.choose|Choose|Kies
hint.hold|Hold: record|Vasthouden
hint.cancel|Cancel|Annuleer
hint.ok|OK|OK
hint.retry|Retry|Opnieuw
hint.refused|Refused|Geweigerd
hint.trust|Trust|Vertrouw
hint.apply|Apply|Toepassen
hint.refuse|Refuse|Weiger
# the list
list.count|%d open|%d open
list.count_overdue|%d open, %d overdue|%d open, %d te laat
list.empty|No open notices|Geen openstaande meldingen
list.empty2|Waiting for notices|Wacht op meldingen
list.pos|%d of %d|%d van %d
word.overdue|overdue|te laat
word.left|left|over
word.paused|paused|gepauzeerd
word.more|more|meer
unit.h|h|u
unit.units|min h d|min u d
# categories
cat.csam|CSAM|CSAM
cat.terror|TERROR|TERREUR
cat.other|OTHER|OVERIG
catlong.csam|Child sexual abuse material|Seksueel kindermisbruikmateriaal
catlong.terror|Terrorist content|Terroristische inhoud
catlong.other|Other illegal content|Andere illegale inhoud
# notice states and tags
state.new|New, not opened before|Nieuw, nog niet geopend
state.seen|Opened|Geopend
state.cannot-comply|Cannot comply|Kan niet voldoen
tag.new|NEW|NIEUW
tag.test|TEST|TEST
# banners
banner.test|TEST: drill, not a real order|TEST: oefening, geen echt bevel
banner.nodisclose|Do NOT inform the customer|Klant NIET informeren
banner.preserve|Preserve evidence until %s|Bewijs bewaren tot %s
# the notice's fields
label.issuer|Issuer:|Uitgever:
label.ref|Reference:|Kenmerk:
label.cat|Category:|Categorie:
label.basis|Legal basis:|Grondslag:
label.issued|Issued:|Uitgegeven:
label.received|Received:|Ontvangen:
label.due|Due:|Uiterlijk:
label.state|State:|Status:
label.note|Note:|Toelichting:
label.contact|Contact:|Contact:
label.redress|Redress:|Bezwaar:
label.preserve|Keep evidence until:|Bewijs bewaren tot:
label.items|Items (%d):|Items (%d):
label.ip|IP:|IP:
label.sha256|SHA-256:|SHA-256:
detail.within|%s after receipt|%s na ontvangst
detail.paused|deadline paused with %s left|termijn gepauzeerd met %s over
detail.paused_head|Cannot comply: deadline paused|Kan niet voldoen: termijn gepauzeerd
detail.approx|Clock not trusted: times are estimates|Klok niet betrouwbaar: tijden geschat
# answers and cannot-comply reasons
act.removed|Removed|Verwijderd
act.not-ours|Not ours|Niet van ons
act.disputed|Disputed|Betwist
act.cannot-comply|Cannot comply|Kan niet voldoen
actdesc.removed|The material is offline|Het materiaal is offline
actdesc.not-ours|Not hosted by us|Niet door ons gehost
actdesc.disputed|We contest this notice|Wij betwisten deze melding
actdesc.cannot-comply|Pauses the deadline|Pauzeert de termijn
why.force-majeure|Force majeure|Overmacht
why.manifest-error|Manifest error|Kennelijke fout
why.missing-info|Missing information|Ontbrekende informatie
# confirm, done, failed
confirm.record|Record this answer:|Dit antwoord vastleggen:
confirm.hold|Hold X for 1 second to record.|Houd X 1 seconde vast om vast te leggen.
confirm.signed|A signed receipt goes to %s.|Een ondertekend bewijs gaat naar %s.
confirm.cancel|Y cancels, nothing is recorded.|Y annuleert, er wordt niets vastgelegd.
confirm.short|Hold X longer to record|Houd X langer vast
done.receipt|Receipt|Bewijs
done.stored|Signed and stored on this device.|Ondertekend en opgeslagen op dit apparaat.
done.sent|Sent to the hotline as soon as it answers.|Gaat naar het meldpunt zodra dat antwoordt.
done.paused|The notice stays listed, paused.|De melding blijft staan, gepauzeerd.
failed.text|Nothing was recorded. Try again; if it keeps failing, tell the hotline another way.|Er is niets vastgelegd. Probeer opnieuw; lukt het niet, meld het dan op een andere manier.
# toasts in the footer
toast.new|New: %s|Nieuw: %s
toast.withdrawn|Withdrawn: %s|Ingetrokken: %s
toast.replaced|Replaced: %s|Vervangen: %s
toast.closed|Closed: %s|Gesloten: %s
toast.seen|Seen, receipt %d|Gezien, bewijs %d
# status bar
clock.rtc|RTC|RTC
clock.ntp|NTP|NTP
clock.hotline|~clock|~klok
clock.untrusted|clock?|klok?
net.up|Net|Net
hotline.name|Hotline|Meldpunt
outbox|Out %d|Uit %d
flash.low|Flash low|Flash vol
# device screen
dev.id|Device id:|Apparaat-id:
dev.key|Device key:|Apparaatsleutel:
dev.version|Firmware:|Firmware:
dev.storage|Storage:|Opslag:
dev.storage_fmt|%d of %d KiB used (%d%%)|%d van %d KiB gebruikt (%d%%)
dev.keys|Trusted issuer keys (%d):|Vertrouwde sleutels (%d):
dev.nokeys|No trusted keys: every notice is refused|Geen vertrouwde sleutels: elke melding wordt geweigerd
dev.valid|valid, no end date|geldig, geen einddatum
dev.until|valid until %s|geldig tot %s
dev.expiring|EXPIRES in %d days (%s)|VERLOOPT over %d dagen (%s)
dev.expired|EXPIRED %s|VERLOPEN %s
dev.revoked|REVOKED|INGETROKKEN
dev.clock|Clock:|Klok:
dev.clock.rtc|battery-backed RTC, trusted|RTC met batterij, betrouwbaar
dev.clock.ntp|set by NTP, trusted|gezet via NTP, betrouwbaar
dev.clock.hotline|from the hotlines' messages: a lower bound, countdowns are estimates|uit berichten van meldpunten: een ondergrens, aftellingen zijn schattingen
dev.clock.untrusted|not trusted: countdowns are estimates from receipt|niet betrouwbaar: aftellingen geschat vanaf ontvangst
dev.refused|Refused messages: %d|Geweigerde berichten: %d
trust.intro|Provisioning asks to trust these issuer keys. Compare each fingerprint with the one the hotline gave you.|Provisioning vraagt deze sleutels te vertrouwen. Vergelijk elke vingerafdruk met die van het meldpunt.
trust.accepted|New keys trusted|Nieuwe sleutels vertrouwd
trust.refused|New keys refused|Nieuwe sleutels geweigerd
change.intro|Provisioning asks to change these settings. Press A only if you expect this change.|Provisioning vraagt deze instellingen te wijzigen. Druk alleen op A als u deze wijziging verwacht.
change.key.revoked|revoked: notices signed with it are refused|ingetrokken: meldingen ermee ondertekend worden geweigerd
change.key.removed|removed: notices signed with it are refused|verwijderd: meldingen ermee ondertekend worden geweigerd
change.key.not_after|valid until %s|geldig tot %s
change.dev|device id|apparaat-id
change.receipts|receipts|ontvangstbewijzen
change.was|was %s|was %s
change.net|network|netwerk
change.time|clock|klok
change.time.back|The clock goes back: expired keys may count again|De klok gaat terug: verlopen sleutels kunnen weer gelden
change.accepted|Change applied|Wijziging toegepast
change.refused|Change refused|Wijziging geweigerd
# refused messages: reasons are core/errors.py tokens
rej.none|No refused messages|Geen geweigerde berichten
rej.issuer|%s (claimed)|%s (opgegeven)
rej.unknown_issuer|issuer unknown|uitgever onbekend
why.unknown-key|Unknown signing key|Onbekende sleutel
why.bad-signature|Bad signature|Ongeldige handtekening
why.bad-alg|Wrong signature algorithm|Verkeerd algoritme
why.wrong-device|Meant for another device|Bedoeld voor een ander apparaat
why.expired-key|Signing key expired|Sleutel verlopen
why.revoked-key|Signing key revoked|Sleutel ingetrokken
why.wrong-issuer|Key of another issuer|Sleutel van een andere uitgever
why.claims|Invalid content|Ongeldige inhoud
why.too-large|Too large|Te groot
why.id-reused|Id reused with other content|Id hergebruikt met andere inhoud
why.stale|Too old (retention)|Te oud (bewaartermijn)
why.store-full|Storage full|Opslag vol
why.cose-structure|Not a signed message|Geen ondertekend bericht
why.malformed|Malformed message|Onleesbaar bericht
why.cbor|Malformed message|Onleesbaar bericht
why.refused|Refused by the device|Geweigerd door het apparaat
why.rate-limited|Too many requests|Te veel verzoeken
"""


def text(key, lang):
    """The text for key in lang ("en" or "nl"; anything else falls back to English)."""
    i = TABLE.find("\n" + key + "|")
    if i < 0:
        raise KeyError(key)
    a = i + len(key) + 2
    b = TABLE.find("|", a)
    if lang == "nl":
        a = b + 1
        b = TABLE.find("\n", a)
    return TABLE[a:b]


def has(key):
    return TABLE.find("\n" + key + "|") >= 0


def entries():
    """(key, en, nl) for every line of the table (tests, tools)."""
    for line in TABLE.strip().split("\n"):
        if not line.startswith("#"):
            yield tuple(line.split("|"))


def reason(token, lang):
    """Human text for a refusal reason token; CBOR details share one text."""
    if has("why." + token):
        return text("why." + token, lang)
    if token.startswith("cbor"):
        return text("why.cbor", lang)
    return token
