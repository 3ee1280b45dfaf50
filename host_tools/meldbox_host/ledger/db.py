"""One small connection interface over SQLite (stdlib sqlite3, the embedded default) and
PostgreSQL (psycopg 3), so the ledger writes its SQL once.

SQL is written with `?` placeholders and the dialect's types come from `types`
(`{blob}`, `{big}`, `{serial}` in DDL). Each `transaction()` is one commit: the ledger
acknowledges nothing before that commit has returned.
"""

import contextlib
import sqlite3


def is_postgres_url(target):
    return str(target).startswith(("postgresql://", "postgres://"))


def connect(target):
    """A path (SQLite, created if missing) or a postgresql:// URL -> Database."""
    if is_postgres_url(target):
        return PostgresDatabase(str(target))
    return SqliteDatabase(str(target))


class Database:
    dialect = None
    types = {}

    def execute(self, sql, params=()):
        """Run one statement -> list of row tuples (empty when it returns none)."""
        cur = self._conn.execute(self._sql(sql), tuple(params))
        return cur.fetchall() if cur.description else []

    def executemany(self, sql, rows):
        cur = self._conn.cursor()
        cur.executemany(self._sql(sql), [tuple(r) for r in rows])

    def ddl(self, sql):
        self.execute(sql.format(**self.types))

    def _sql(self, sql):
        return sql

    def close(self):
        self._conn.close()


class SqliteDatabase(Database):
    dialect = "sqlite"
    types = {"blob": "BLOB", "big": "INTEGER", "serial": "INTEGER PRIMARY KEY AUTOINCREMENT"}

    def __init__(self, path):
        # autocommit off in the DB-API sense is replaced by explicit BEGIN/COMMIT below
        self._conn = sqlite3.connect(
            path, isolation_level=None, timeout=30, check_same_thread=False
        )
        self._conn.execute("PRAGMA journal_mode=WAL")
        # FULL: a commit in WAL mode is on disk when it returns (NORMAL may lose the
        # newest commits on power loss, and those receipts would already be acknowledged)
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.execute("PRAGMA foreign_keys=ON")
        self.path = path

    @contextlib.contextmanager
    def transaction(self, exclusive=False):
        # IMMEDIATE: take the write lock first, so a read-then-write transaction waits for
        # another writer (busy timeout) instead of failing when that writer commits
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    def table_columns(self, table):
        return [row[1] for row in self.execute("PRAGMA table_info(%s)" % table)]


class PostgresDatabase(Database):
    dialect = "postgresql"
    types = {"blob": "BYTEA", "big": "BIGINT", "serial": "BIGSERIAL PRIMARY KEY"}

    def __init__(self, url):
        import psycopg  # only a PostgreSQL ledger needs it

        self._conn = psycopg.connect(url, autocommit=True)
        self.url = url

    def _sql(self, sql):
        # the ledger's SQL has no literal '?' or '%', so this is a plain swap
        return sql.replace("%", "%%").replace("?", "%s")

    @contextlib.contextmanager
    def transaction(self, exclusive=False):
        with self._conn.transaction():
            if exclusive:
                # one migrator at a time across processes
                self._conn.execute("SELECT pg_advisory_xact_lock(7130512)")
            yield self

    def table_columns(self, table):
        return [
            r[0]
            for r in self.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = ?"
                " ORDER BY ordinal_position",
                (table,),
            )
        ]
