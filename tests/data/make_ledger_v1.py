"""Writes tests/data/ledger-v1.sqlite: a ledger as schema version 1 left it (the device
of notices.json pinned, vector receipts 1 and 2 received, one finding). Kept so that
tests/host/test_ledger_migrations.py can show an old ledger opens in a newer Meldbox.
Run once per released schema. Regenerate it only when the vectors it copies change (as
when nh became a hash of the signed content): the schema-v1 DDL must stay identical."""

import json
import sqlite3
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "host_tools"))

from meldbox_host import protocol  # noqa: E402
from meldbox_host.ledger import db as dbmod  # noqa: E402
from meldbox_host.ledger import schema  # noqa: E402


def main(out=HERE / "ledger-v1.sqlite"):
    out.unlink(missing_ok=True)
    db = dbmod.connect(out)
    write_v1(db)
    db.close()
    con = sqlite3.connect(out)
    con.execute("PRAGMA journal_mode=DELETE")  # one self-contained file in the repository
    con.close()


def write_v1(db):
    """Schema version 1 and its rows, on any ledger database (also PostgreSQL)."""
    vectors = json.loads((HERE / "notices.json").read_text())
    schema.migrate(db, 1800000000, upto=1)
    dev, pub = vectors["device_id"], bytes.fromhex(vectors["device_public_key"])
    with db.transaction():
        db.execute(
            "INSERT INTO devices VALUES (?, ?, ?, ?, ?)", (dev, pub, "hoster-a", None, 1800000000)
        )
        for r in vectors["receipts"][:2]:
            cose = bytes.fromhex(r["cose"])
            c = protocol.verify_receipt(cose, pub)
            db.execute(
                "INSERT INTO receipts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    dev,
                    c["seq"],
                    c["kind"],
                    c["iss"],
                    c["nid"],
                    c["nh"],
                    c["at"],
                    c["clock"],
                    None,
                    None,
                    c["prev"],
                    protocol.chain_hash(cose),
                    "ok",
                    c["at"] + 1,
                    cose,
                ),
            )
        db.execute(
            "INSERT INTO findings (fingerprint, found, kind, dev, seq, detail)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            ("v1-fixture", 1800000100, "unknown-device", "nl.stranger", 1, "fixture"),
        )


if __name__ == "__main__":
    main()
