"""The ledger's schema as numbered migrations. A ledger records the newest version
applied in `ledger_schema`; opening it applies the ones after that, in order, each in its
own transaction, so a ledger written by an older Meldbox opens in a newer one. Never edit
a released migration: add the next one.
"""

MIGRATIONS = [
    # 1: what a hotline sent, what came back, and what was wrong with it
    [
        """CREATE TABLE devices (
             dev TEXT PRIMARY KEY,
             pub {blob} NOT NULL,          -- pinned Ed25519 key: receipts must verify with it
             hoster TEXT NOT NULL,
             uri TEXT,
             added {big} NOT NULL)""",
        """CREATE TABLE messages (
             iss TEXT NOT NULL,
             id {blob} NOT NULL,
             t TEXT NOT NULL,              -- notice / withdraw / ping
             dev TEXT NOT NULL,
             hoster TEXT NOT NULL,
             ref TEXT,                     -- the case reference (notices)
             target {blob},                -- the notice a withdraw closes
             iat {big} NOT NULL,
             due {big},
             within {big},
             cat TEXT,
             url_hashes TEXT,              -- JSON list: SHA-256 hex of each item's URL
             nh {blob} NOT NULL,           -- protocol.notice_hash of the bytes sent
             cose {blob} NOT NULL,
             sent_at {big} NOT NULL,       -- hotline clock when it was first sent
             answer TEXT,                  -- CoAP code of the device's answer, if any
             PRIMARY KEY (iss, id))""",
        "CREATE INDEX messages_dev ON messages (dev, sent_at)",
        "CREATE INDEX messages_hoster ON messages (hoster, sent_at)",
        """CREATE TABLE receipts (
             dev TEXT NOT NULL,
             seq {big} NOT NULL,
             kind TEXT NOT NULL,
             iss TEXT,
             nid {blob},
             nh {blob},
             at {big} NOT NULL,            -- device time of the event
             clock TEXT NOT NULL,          -- what `at` rests on (PROTOCOL.md 7)
             reason TEXT,
             note TEXT,
             prev {blob} NOT NULL,
             hash {blob} NOT NULL,         -- SHA-256 of cose: the next receipt's prev
             chain TEXT NOT NULL,          -- ok / gap / fork when it arrived
             received {big} NOT NULL,      -- hotline clock on arrival
             cose {blob} NOT NULL,
             PRIMARY KEY (dev, seq))""",
        "CREATE INDEX receipts_nid ON receipts (iss, nid)",
        """CREATE TABLE findings (
             id {serial},
             fingerprint TEXT NOT NULL UNIQUE,  -- the same problem twice is one row
             found {big} NOT NULL,
             kind TEXT NOT NULL,
             dev TEXT,
             seq {big},
             detail TEXT NOT NULL,
             cose {blob})""",
    ],
    # 2: checkpoint receipts (the device pruned its log), re-notification, device silence
    [
        """CREATE TABLE checkpoints (
             dev TEXT NOT NULL,
             seq {big} NOT NULL,
             pseq {big} NOT NULL,          -- newest receipt the device pruned
             ph {blob} NOT NULL,           -- its hash
             link TEXT NOT NULL,           -- linked / not-held / mismatch
             PRIMARY KEY (dev, seq))""",
        "ALTER TABLE messages ADD COLUMN sends {big} NOT NULL DEFAULT 1",
        "ALTER TABLE messages ADD COLUMN last_sent {big}",
        "ALTER TABLE devices ADD COLUMN status_ok {big}",  # last /status that answered
        "ALTER TABLE devices ADD COLUMN status_tried {big}",
    ],
]

VERSION = len(MIGRATIONS)


def current_version(db):
    db.ddl(
        "CREATE TABLE IF NOT EXISTS ledger_schema (version {big} PRIMARY KEY,"
        " applied {big} NOT NULL)"
    )
    rows = db.execute("SELECT MAX(version) FROM ledger_schema")
    return rows[0][0] or 0


def migrate(db, now, upto=VERSION):
    """Bring `db` to version `upto` -> the version it had before. A ledger newer than
    this code is refused rather than written with an older idea of its tables."""
    with db.transaction(exclusive=True):
        before = current_version(db)
    if before > VERSION:
        raise RuntimeError(
            "ledger schema version %d is newer than this Meldbox (%d)" % (before, VERSION)
        )
    for version in range(before + 1, upto + 1):
        with db.transaction(exclusive=True):
            if current_version(db) >= version:  # another process got there first
                continue
            for statement in MIGRATIONS[version - 1]:
                db.ddl(statement)
            db.execute(
                "INSERT INTO ledger_schema (version, applied) VALUES (?, ?)", (version, now)
            )
    return before
