"""The hotline's ledger: every message it sent, every receipt that came back (verified,
chained), and every finding (gap, fork, bad input). Each record_* call is one committed
transaction, so whatever a caller acknowledges after it returns is on disk.
"""

import hashlib
import json
import time

from meldbox_host import protocol
from meldbox_host.ledger import db as dbmod
from meldbox_host.ledger import schema

# finding kinds about the chain (the rest are about bad input)
CHAIN_FINDINGS = ("gap", "fork", "checkpoint-mismatch", "nh-mismatch")


class PinConflict(ValueError):
    """A device is already pinned in the ledger with another key."""


def url_hashes(items):
    """SHA-256 hex of each item's URL: the ledger keeps no URL in clear."""
    return [hashlib.sha256(item["url"].encode()).hexdigest() for item in items]


class Ledger:
    def __init__(self, target, clock=time.time):
        self.clock = clock
        self.target = str(target)
        self.db = dbmod.connect(target)
        self.schema_before = schema.migrate(self.db, self.now())

    def now(self):
        return int(self.clock())

    def close(self):
        self.db.close()

    @property
    def dialect(self):
        return self.db.dialect

    # --- devices ---------------------------------------------------------------------
    def pin_device(self, dev, pub, hoster=None, uri=None):
        """Pin `dev`'s key (first use) or check it matches; set hoster/uri when given."""
        pub = protocol.public_bytes(pub)
        with self.db.transaction():
            rows = self.db.execute("SELECT pub, hoster FROM devices WHERE dev = ?", (dev,))
            if not rows:
                self.db.execute(
                    "INSERT INTO devices (dev, pub, hoster, uri, added) VALUES (?, ?, ?, ?, ?)",
                    (dev, pub, hoster or dev, uri, self.now()),
                )
                return
            if bytes(rows[0][0]) != pub:
                raise PinConflict(
                    "device %s is pinned in the ledger with key %s, not %s"
                    % (dev, bytes(rows[0][0]).hex(), pub.hex())
                )
            if hoster:
                self.db.execute("UPDATE devices SET hoster = ? WHERE dev = ?", (hoster, dev))
            if uri:
                self.db.execute("UPDATE devices SET uri = ? WHERE dev = ?", (uri, dev))

    def devices(self):
        """{dev: {"pub", "hoster", "uri", "status_ok", "status_tried"}}."""
        rows = self.db.execute(
            "SELECT dev, pub, hoster, uri, status_ok, status_tried FROM devices ORDER BY dev"
        )
        return {
            r[0]: {
                "pub": bytes(r[1]),
                "hoster": r[2],
                "uri": r[3],
                "status_ok": r[4],
                "status_tried": r[5],
            }
            for r in rows
        }

    def hoster_of(self, dev):
        rows = self.db.execute("SELECT hoster FROM devices WHERE dev = ?", (dev,))
        return rows[0][0] if rows else dev

    def record_status_try(self, dev, answered, when=None):
        """A /status (or ping) attempt: when it answered, and when it was last tried."""
        now = self.now() if when is None else int(when)
        with self.db.transaction():
            if answered:
                self.db.execute(
                    "UPDATE devices SET status_ok = ?, status_tried = ? WHERE dev = ?",
                    (now, now, dev),
                )
            else:
                self.db.execute("UPDATE devices SET status_tried = ? WHERE dev = ?", (now, dev))

    # --- what was sent -------------------------------------------------------------------
    def record_sent(self, claims, cose_bytes, hoster=None, answer=None, sent_at=None):
        """A notice, withdraw or ping as sent. Sending the same (iss, id) again counts a
        re-send (sends + 1, last_sent) and keeps the first send time."""
        sent_at = self.now() if sent_at is None else int(sent_at)
        dev = claims["aud"]
        t = claims["t"]
        row = (
            claims["iss"],
            bytes(claims["id"]),
            t,
            dev,
            hoster or self.hoster_of(dev),
            claims.get("ref") if t == "notice" else None,
            bytes(claims["ref"]) if t == "withdraw" else None,
            claims["iat"],
            claims.get("due"),
            claims.get("within"),
            claims.get("cat"),
            json.dumps(url_hashes(claims["items"])) if t == "notice" else None,
            protocol.notice_hash(cose_bytes),
            bytes(cose_bytes),
            sent_at,
            answer,
            sent_at,
        )
        with self.db.transaction():
            self.db.execute(
                "INSERT INTO messages (iss, id, t, dev, hoster, ref, target, iat, due, within,"
                " cat, url_hashes, nh, cose, sent_at, answer, last_sent)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (iss, id) DO UPDATE SET sends = messages.sends + 1,"
                " last_sent = excluded.last_sent,"
                " answer = COALESCE(excluded.answer, messages.answer)",
                row,
            )

    def record_answer(self, iss, message_id, code):
        with self.db.transaction():
            self.db.execute(
                "UPDATE messages SET answer = ? WHERE iss = ? AND id = ?",
                (code, iss, bytes(message_id)),
            )

    # --- what came back --------------------------------------------------------------------
    def record_receipt(self, receipt, cose_bytes, chain_result=None, received=None):
        """A verified receipt, with its chain result (protocol.ChainResult), in one commit.
        Returns True when it was new. Gaps and forks become findings; a fork that reuses a
        held seq cannot take that seq's row, so its bytes are kept in the finding."""
        received = self.now() if received is None else int(received)
        dev, seq = receipt["dev"], receipt["seq"]
        with self.db.transaction():
            if chain_result is None:
                chain_result = self._chain_result(receipt, protocol.chain_hash(cose_bytes))
            status = chain_result.status
            if status == protocol.CHAIN_REPEAT:
                status = protocol.CHAIN_OK
            held = self.db.execute(
                "SELECT hash FROM receipts WHERE dev = ? AND seq = ?", (dev, seq)
            )
            if held and bytes(held[0][0]) == protocol.chain_hash(cose_bytes):
                return False
            if not held:
                self.db.execute(
                    "INSERT INTO receipts (dev, seq, kind, iss, nid, nh, at, clock, reason, note,"
                    " prev, hash, chain, received, cose)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        dev,
                        seq,
                        receipt["kind"],
                        receipt.get("iss"),
                        receipt.get("nid"),
                        receipt.get("nh"),
                        receipt["at"],
                        receipt["clock"],
                        receipt.get("reason"),
                        receipt.get("note"),
                        receipt["prev"],
                        protocol.chain_hash(cose_bytes),
                        status,
                        received,
                        bytes(cose_bytes),
                    ),
                )
            else:
                status = protocol.CHAIN_FORK
            if status in (protocol.CHAIN_GAP, protocol.CHAIN_FORK):
                detail = (
                    chain_result.detail
                    if chain_result and chain_result.detail
                    else "another receipt with seq %d is held" % seq
                )
                self._finding(status, detail, dev, seq, cose_bytes, received)
            if receipt["kind"] == "checkpoint":
                self._checkpoint(receipt, received)
            self._check_nh(receipt, cose_bytes, received)
        return True

    def _chain_result(self, receipt, h):
        """The chain check of protocol.ReceiptChain, against the receipts in the ledger
        (for writers without a live chain, such as `hotline send`)."""
        dev, seq, prev = receipt["dev"], receipt["seq"], receipt["prev"]

        def held(s):
            rows = self.db.execute(
                "SELECT hash, prev FROM receipts WHERE dev = ? AND seq = ?", (dev, s)
            )
            return (bytes(rows[0][0]), bytes(rows[0][1])) if rows else None

        same = held(seq)
        if same is not None:
            status = protocol.CHAIN_REPEAT if same[0] == h else protocol.CHAIN_FORK
            return protocol.ChainResult(
                status,
                dev,
                seq,
                "" if same[0] == h else "another receipt with seq %d is held" % seq,
                [],
            )
        problems, missing = [], []
        before = held(seq - 1) if seq > 1 else None
        if seq == 1 and prev != protocol.ZERO_HASH:
            problems.append("seq 1 has a prev other than zeros")
        elif before is not None and prev != before[0]:
            problems.append("prev is not the hash of seq %d" % (seq - 1))
        elif seq > 1 and before is None:
            below = (
                self.db.execute(
                    "SELECT MAX(seq) FROM receipts WHERE dev = ? AND seq < ?", (dev, seq)
                )[0][0]
                or 0
            )
            missing = list(range(below + 1, seq))
        after = held(seq + 1)
        if after is not None and after[1] != h:
            problems.append("seq %d does not point at this receipt" % (seq + 1))
        if problems:
            return protocol.ChainResult(
                protocol.CHAIN_FORK, dev, seq, "; ".join(problems), missing
            )
        if missing:
            return protocol.ChainResult(
                protocol.CHAIN_GAP, dev, seq, "missing seq %s" % protocol._ranges(missing), missing
            )
        return protocol.ChainResult(protocol.CHAIN_OK, dev, seq, "", [])

    def _checkpoint(self, receipt, received):
        dev, pseq, ph = receipt["dev"], receipt["pseq"], receipt["ph"]
        held = self.db.execute("SELECT hash FROM receipts WHERE dev = ? AND seq = ?", (dev, pseq))
        if not held:
            link = "not-held"
        elif bytes(held[0][0]) == ph:
            link = "linked"
        else:
            link = "mismatch"
            self._finding(
                "checkpoint-mismatch",
                "checkpoint seq %d names pruned seq %d with a hash other than the "
                "receipt held" % (receipt["seq"], pseq),
                dev,
                receipt["seq"],
                None,
                received,
            )
        self.db.execute(
            "INSERT INTO checkpoints (dev, seq, pseq, ph, link) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (dev, seq) DO NOTHING",
            (dev, receipt["seq"], pseq, ph, link),
        )

    def _check_nh(self, receipt, cose_bytes, received):
        if receipt.get("nid") is None or receipt.get("iss") is None:
            return
        rows = self.db.execute(
            "SELECT nh FROM messages WHERE iss = ? AND id = ?", (receipt["iss"], receipt["nid"])
        )
        if rows and bytes(rows[0][0]) != receipt.get("nh"):
            self._finding(
                "nh-mismatch",
                "receipt seq %d answers message %s but its nh is not "
                "the hash of the bytes sent" % (receipt["seq"], receipt["nid"].hex()),
                receipt["dev"],
                receipt["seq"],
                cose_bytes,
                received,
            )

    def record_finding(self, kind, detail, dev=None, seq=None, cose_bytes=None, found=None):
        """Bad input or a chain problem, kept once however often it is seen."""
        with self.db.transaction():
            self._finding(
                kind, detail, dev, seq, cose_bytes, self.now() if found is None else found
            )

    def _finding(self, kind, detail, dev, seq, cose_bytes, found):
        fingerprint = hashlib.sha256(
            json.dumps([kind, dev, seq, detail, (cose_bytes or b"").hex()]).encode()
        ).hexdigest()
        self.db.execute(
            "INSERT INTO findings (fingerprint, found, kind, dev, seq, detail, cose)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (fingerprint) DO NOTHING",
            (
                fingerprint,
                int(found),
                kind,
                dev,
                seq,
                detail,
                None if cose_bytes is None else bytes(cose_bytes),
            ),
        )

    # --- reading ------------------------------------------------------------------------------
    def chain_rows(self):
        """(dev, seq, cose) of every receipt held, in chain order: to rebuild chains."""
        return self.db.execute("SELECT dev, seq, cose FROM receipts ORDER BY dev, seq")

    def count(self, table):
        assert table in ("messages", "receipts", "findings", "checkpoints", "devices")
        return self.db.execute("SELECT COUNT(*) FROM %s" % table)[0][0]

    def findings(self, since=None):
        rows = self.db.execute(
            "SELECT id, found, kind, dev, seq, detail FROM findings WHERE found >= ? ORDER BY id",
            (since or 0,),
        )
        return [dict(zip(("id", "found", "kind", "dev", "seq", "detail"), r)) for r in rows]

    def receipts(self, dev=None):
        cols = (
            "dev",
            "seq",
            "kind",
            "iss",
            "nid",
            "nh",
            "at",
            "clock",
            "reason",
            "note",
            "chain",
            "received",
        )
        sql = "SELECT %s FROM receipts" % ", ".join(cols)
        params = ()
        if dev is not None:
            sql += " WHERE dev = ?"
            params = (dev,)
        rows = self.db.execute(sql + " ORDER BY dev, seq", params)
        return [
            dict(zip(cols, [bytes(v) if isinstance(v, memoryview) else v for v in r]))
            for r in rows
        ]

    def messages(self, since=None, hoster=None):
        cols = (
            "iss",
            "id",
            "t",
            "dev",
            "hoster",
            "ref",
            "target",
            "iat",
            "due",
            "within",
            "cat",
            "nh",
            "sent_at",
            "answer",
            "sends",
            "last_sent",
        )
        sql = "SELECT %s FROM messages WHERE sent_at >= ?" % ", ".join(cols)
        params = [since or 0]
        if hoster is not None:
            sql += " AND hoster = ?"
            params.append(hoster)
        rows = self.db.execute(sql + " ORDER BY sent_at, iss, id", params)
        return [
            dict(zip(cols, [bytes(v) if isinstance(v, memoryview) else v for v in r]))
            for r in rows
        ]

    def checkpoints(self):
        rows = self.db.execute("SELECT dev, seq, pseq, link FROM checkpoints ORDER BY dev, seq")
        return [dict(zip(("dev", "seq", "pseq", "link"), r)) for r in rows]

    def open_gaps(self):
        """{dev: [seq, ...]}: seqs below each device's newest receipt that never arrived."""
        out = {}
        for (dev,) in self.db.execute("SELECT DISTINCT dev FROM receipts ORDER BY dev"):
            seqs = {
                r[0] for r in self.db.execute("SELECT seq FROM receipts WHERE dev = ?", (dev,))
            }
            missing = [s for s in range(1, max(seqs)) if s not in seqs]
            if missing:
                out[dev] = missing
        return out
