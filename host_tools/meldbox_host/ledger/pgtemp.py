"""A throwaway PostgreSQL server in a temporary folder (Debian's `postgresql` package:
initdb + pg_ctl), for the ledger's tests and the fleet benchmark.

PostgreSQL refuses to run as root, so as root the cluster belongs to the `postgres`
user the Debian package creates and its programs run through `runuser`.
"""

import glob
import os
import shutil
import socket
import subprocess
import tempfile

PG_BIN_GLOB = "/usr/lib/postgresql/*/bin"


class PostgresUnavailable(RuntimeError):
    pass


def pg_bin():
    """The folder with initdb and pg_ctl (newest installed version), or PostgresUnavailable."""
    found = sorted(glob.glob(PG_BIN_GLOB), key=lambda p: int(p.split("/")[-2]))
    for folder in reversed(found):
        if os.access(os.path.join(folder, "initdb"), os.X_OK):
            return folder
    on_path = shutil.which("initdb")
    if on_path:
        return os.path.dirname(os.path.realpath(on_path))
    raise PostgresUnavailable(
        "no initdb: install Debian's postgresql package (make setup as root)"
    )


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class TempPostgres:
    """with TempPostgres() as pg: pg.url -> 'postgresql://meldbox@127.0.0.1:PORT/postgres'."""

    def __init__(self, user="meldbox"):
        self.user = user
        self.bin = pg_bin()
        self.root = tempfile.mkdtemp(prefix="meldbox-pg-")
        self.data = os.path.join(self.root, "data")
        self.port = None
        self._as = []
        if os.geteuid() == 0:
            import pwd

            owner = pwd.getpwnam("postgres")
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]

    def _run(self, *args):
        done = subprocess.run(
            self._as + list(args), cwd=self.root, capture_output=True, text=True, timeout=120
        )
        if done.returncode != 0:
            raise PostgresUnavailable("%s failed:\n%s%s" % (args[0], done.stdout, done.stderr))

    def start(self):
        self._run(
            os.path.join(self.bin, "initdb"),
            "-D",
            self.data,
            "--auth=trust",
            "-U",
            self.user,
            "-E",
            "UTF8",
            "--no-sync",
        )
        self.port = _free_port()
        options = "-c listen_addresses=127.0.0.1 -p %d -c unix_socket_directories=%s" % (
            self.port,
            self.root,
        )
        self._run(
            os.path.join(self.bin, "pg_ctl"),
            "-D",
            self.data,
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "-l",
            os.path.join(self.root, "server.log"),
            "start",
        )
        return self

    @property
    def url(self):
        return "postgresql://%s@127.0.0.1:%d/postgres" % (self.user, self.port)

    def new_database(self, name):
        """An empty database on this server -> its URL."""
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute("CREATE DATABASE %s" % name)
        return "postgresql://%s@127.0.0.1:%d/%s" % (self.user, self.port, name)

    def stop(self):
        try:
            if self.port is not None:
                self._run(
                    os.path.join(self.bin, "pg_ctl"), "-D", self.data, "-m", "fast", "-w", "stop"
                )
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc):
        self.stop()
