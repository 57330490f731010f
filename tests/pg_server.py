"""A throwaway PostgreSQL server (and a PgBouncer in front of it) for tests and benchmarks.

`throwaway_postgres()` makes a cluster with ``initdb`` in a temporary folder, as an
unprivileged user (the server refuses to run as root: as root, the system user
``tracker-pg`` is created and used), starts it on a free loopback port with a PgBouncer
in transaction mode beside it (or, given ``host`` and ``netns``, without PgBouncer inside
that network namespace, listening on that address too: tests of several hosts), creates
the database ``tracker`` owned by the role ``tracker`` and a read-only role ``reader``,
and removes it all when the block ends, tests passed or not. ``scripts/postgres.sh``
installs the Debian packages where they are missing.

Tests get it as the session fixture `pg` (a conftest imports it: ``from pg_server import
pg``); a test that needs an empty database takes `PostgresServer.create_database`.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

__all__ = ["PostgresServer", "Unavailable", "pg", "throwaway_postgres"]

PASSWORD = "tracker-test-pw"
READER_PASSWORD = "reader-test-pw"
SYSTEM_USER = "tracker-pg"
TABLES = (
    "runs", "run_tags", "metric_chunks", "metrics", "metric_batches", "events", "artifacts",
    "table_rows", "tables", "evaluations", "version_scores",
)  # fmt: skip


class Unavailable(RuntimeError):
    """PostgreSQL, PgBouncer or psycopg is not installed here."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _bin_dir() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    if initdb is None:
        raise Unavailable("PostgreSQL is not installed: run scripts/postgres.sh")
    return Path(initdb).parent


def _pgbouncer() -> str:
    found = shutil.which("pgbouncer") or shutil.which("pgbouncer", path="/usr/sbin:/usr/bin")
    if found is None:
        raise Unavailable("PgBouncer is not installed: run scripts/postgres.sh")
    return found


def _server_user() -> pwd.struct_passwd:
    """Who runs the server: this user, or as root the system user `SYSTEM_USER`."""
    if os.geteuid() != 0:
        return pwd.getpwuid(os.geteuid())
    try:
        return pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
             SYSTEM_USER],
            check=True,
            capture_output=True,
        )  # fmt: skip
        return pwd.getpwnam(SYSTEM_USER)


def _wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")
        time.sleep(0.05)


class PostgresServer:
    """A running throwaway cluster: URIs to reach it, and ways to stop, kill and restart it."""

    def __init__(self, *, host: str = "127.0.0.1", netns: str | None = None) -> None:
        """``host``: the address the server listens on (and its URIs name) besides the
        loopback; ``netns``: the network namespace it runs in (as root; no PgBouncer)."""
        import psycopg  # noqa: F401 - Unavailable before anything is made

        self.bin = _bin_dir()
        self.pgbouncer_bin = _pgbouncer()
        self.user = _server_user()
        # as root, in /tmp: a TMPDIR under /root would not let the server's user in
        where = "/tmp" if os.geteuid() == 0 else None
        self.root = Path(tempfile.mkdtemp(prefix="tracker-pg-", dir=where))
        os.chown(self.root, self.user.pw_uid, self.user.pw_gid)
        self.data = self.root / "data"
        self.port = _free_port()
        self.bouncer_port = _free_port()
        self.host = host
        self.netns = netns
        self._bouncer: subprocess.Popen[bytes] | None = None

    # -- addresses -------------------------------------------------------------------
    @property
    def uri(self) -> str:
        """The database ``tracker``, as its owner (password in the URI)."""
        return self.uri_of("tracker")

    def uri_of(self, database: str, *, password: bool = True) -> str:
        """A database of the server as the role ``tracker``, with or without the password."""
        auth = f"tracker:{PASSWORD}" if password else "tracker"
        return f"postgresql://{auth}@{self.host}:{self.port}/{database}"

    @property
    def bouncer_uri(self) -> str:
        """The database ``tracker`` through PgBouncer (pool_mode=transaction)."""
        return f"postgresql://tracker:{PASSWORD}@127.0.0.1:{self.bouncer_port}/tracker"

    @property
    def reader_uri(self) -> str:
        """The database ``tracker`` as the read-only role ``reader``."""
        return f"postgresql://reader:{READER_PASSWORD}@{self.host}:{self.port}/tracker"

    @property
    def admin_uri(self) -> str:
        """The database ``postgres`` as the superuser."""
        return f"postgresql://postgres:{PASSWORD}@{self.host}:{self.port}/postgres"

    def socket_uri_of(self, role: str = "tracker") -> str:
        """The database ``tracker`` as ``role`` (``tracker`` or ``reader``) over the
        server's Unix socket, which reaches it from any network namespace."""
        password = READER_PASSWORD if role == "reader" else PASSWORD
        return f"postgresql://{role}:{password}@/tracker?host={self.root}&port={self.port}"

    # -- running it ------------------------------------------------------------------
    def _as_server_user(self, *args: str | Path, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        command = [str(a) for a in args]
        if self.netns is not None:  # enter the namespace as root, then become the user
            user = self.user
            command = [
                "ip", "netns", "exec", self.netns, "setpriv", f"--reuid={user.pw_uid}",
                f"--regid={user.pw_gid}", "--clear-groups", *command,
            ]  # fmt: skip
            return subprocess.run(
                command, cwd=self.root, check=True, capture_output=True, text=True, **kwargs
            )
        return subprocess.run(
            command,
            user=self.user.pw_uid,
            group=self.user.pw_gid,
            extra_groups=[],
            cwd=self.root,
            check=True,
            capture_output=True,
            text=True,
            **kwargs,
        )

    def create(self) -> None:
        """initdb, configure, start, create roles and the database, start PgBouncer."""
        pwfile = self.root / "pwfile"
        pwfile.write_text(PASSWORD + "\n")
        os.chown(pwfile, self.user.pw_uid, self.user.pw_gid)
        self._as_server_user(
            self.bin / "initdb", "-D", self.data, "-U", "postgres", "--pwfile", pwfile,
            "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8",
            "--no-sync", "--locale=C",
        )  # fmt: skip
        addresses = ",".join(dict.fromkeys(["127.0.0.1", self.host]))
        if self.host != "127.0.0.1":
            with (self.data / "pg_hba.conf").open("a") as hba:  # clients of its networks
                hba.write("host all all samenet scram-sha-256\n")
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"listen_addresses = '{addresses}'\nport = {self.port}\n"
                f"unix_socket_directories = '{self.root}'\nmax_connections = 200\n"
                "fsync = on\nshared_buffers = 128MB\nlog_min_messages = warning\n"
            )
        self.start()
        self.admin(
            f"CREATE ROLE tracker LOGIN PASSWORD '{PASSWORD}'",
            f"CREATE ROLE reader LOGIN PASSWORD '{READER_PASSWORD}'",
            "CREATE DATABASE tracker OWNER tracker",
        )
        if self.netns is None:
            self._write_bouncer_config()
            self.start_bouncer()

    def admin(self, *statements: str, database: str = "postgres") -> list[Any]:
        """Run statements as the superuser; the rows of the last one."""
        import psycopg

        rows: list[Any] = []
        with psycopg.connect(  # the Unix socket: reachable whatever namespace it runs in
            host=str(self.root), port=self.port, user="postgres", dbname=database, autocommit=True
        ) as conn:
            for statement in statements:
                cur = conn.execute(statement)
                rows = cur.fetchall() if cur.description else []
        return rows

    def create_database(self, name: str, *, password: bool = True) -> str:
        """A new empty database owned by ``tracker``; its URI."""
        self.admin(f'CREATE DATABASE "{name}" OWNER tracker')
        return self.uri_of(name, password=password)

    def grant_reader(self, database: str = "tracker") -> None:
        """Let ``reader`` read every table of the database (after a store created them)."""
        self.admin(
            f'GRANT CONNECT ON DATABASE "{database}" TO reader',
            "GRANT SELECT ON ALL TABLES IN SCHEMA public TO reader",
            database=database,
        )

    def truncate(self) -> None:
        """Empty the store's tables of the database ``tracker`` (where they exist)."""
        existing = {
            row[0]
            for row in self.admin(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'", database="tracker"
            )
        }
        tables = [t for t in TABLES if t in existing]
        if tables:
            self.admin(f"TRUNCATE {', '.join(tables)}", database="tracker")

    def start(self) -> None:
        """Start the server and wait until it takes connections."""
        self._as_server_user(
            self.bin / "pg_ctl", "-D", self.data, "-l", self.root / "server.log", "-w",
            "-t", "60", "start",
        )  # fmt: skip

    def stop(self) -> None:
        """Stop the server (fast shutdown: sessions are ended, nothing is lost)."""
        self._as_server_user(self.bin / "pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop")

    def kill(self) -> None:
        """SIGKILL the postmaster and its backends, as a crash would; `start` recovers."""
        pid = int((self.data / "postmaster.pid").read_text().split()[0])
        children = subprocess.run(
            ["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False
        ).stdout.split()
        for victim in [pid, *map(int, children)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while any(Path(f"/proc/{p}").exists() for p in [pid, *map(int, children)]):
            if time.monotonic() > deadline:
                raise RuntimeError("the killed server's processes did not go away")
            time.sleep(0.05)

    def terminate_backends(self, database: str = "tracker") -> int:
        """End every session connected to ``database`` (pg_terminate_backend); how many."""
        rows = self.admin(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            f"WHERE datname = '{database}' AND pid <> pg_backend_pid()"
        )
        return int(rows[0][0])

    def _write_bouncer_config(self) -> None:
        (self.root / "userlist.txt").write_text(f'"tracker" "{PASSWORD}"\n')
        (self.root / "pgbouncer.ini").write_text(
            "[databases]\n"
            f"tracker = host=127.0.0.1 port={self.port} dbname=tracker\n"
            "[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {self.bouncer_port}\n"
            "unix_socket_dir =\n"
            f"auth_type = scram-sha-256\nauth_file = {self.root / 'userlist.txt'}\n"
            "pool_mode = transaction\nmax_client_conn = 500\ndefault_pool_size = 8\n"
            f"logfile = {self.root / 'pgbouncer.log'}\n"
            "ignore_startup_parameters = extra_float_digits\n"
        )
        for name in ("userlist.txt", "pgbouncer.ini"):
            os.chown(self.root / name, self.user.pw_uid, self.user.pw_gid)

    def start_bouncer(self) -> None:
        """Start PgBouncer (pool_mode=transaction) in front of the server."""
        self._bouncer = subprocess.Popen(
            [self.pgbouncer_bin, str(self.root / "pgbouncer.ini")],
            user=self.user.pw_uid,
            group=self.user.pw_gid,
            extra_groups=[],
            cwd=self.root,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_for_port(self.bouncer_port)

    def close(self) -> None:
        """Stop PgBouncer and the server, whatever state they are in; remove the folder."""
        if self._bouncer is not None:
            self._bouncer.kill()
            self._bouncer.wait()
            self._bouncer = None
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(subprocess.CalledProcessError, OSError):
                self._as_server_user(
                    self.bin / "pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop"
                )
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(OSError, ValueError, subprocess.SubprocessError):
                self.kill()
        shutil.rmtree(self.root, ignore_errors=True)


@contextlib.contextmanager
def throwaway_postgres(
    *, host: str = "127.0.0.1", netns: str | None = None
) -> Iterator[PostgresServer]:
    """A new server for the block (options: `PostgresServer`); `Unavailable` if PostgreSQL
    cannot run here."""
    try:
        server = PostgresServer(host=host, netns=netns)
    except ImportError as exc:
        raise Unavailable(f"psycopg is not installed in this environment ({exc})") from exc
    atexit.register(server.close)  # also when the block is never left normally
    try:
        server.create()
        yield server
    finally:
        server.close()
        atexit.unregister(server.close)


@pytest.fixture(scope="session")
def pg() -> Iterator[PostgresServer]:
    """The session's throwaway PostgreSQL server (skipped where it cannot be installed)."""
    try:
        with throwaway_postgres() as server:
            yield server
    except Unavailable as exc:
        pytest.skip(f"no PostgreSQL server: {exc}")
