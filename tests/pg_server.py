"""A throwaway PostgreSQL server for tests: Debian's binaries, our own data dir, loopback only.

It runs as the `postgres` system user when the tests run as root (PostgreSQL
refuses to run as root), listens on 127.0.0.1 on a free port, and is stopped
(SIGINT: fast shutdown) and deleted at the end. Nothing here is a stub: it is
the real server. One server serves a whole pytest session (tests/conftest.py);
each test gets a database of its own (`PostgresServer.fresh_database`).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


class PostgresUnavailable(RuntimeError):
    """PostgreSQL's server binaries are not installed (Debian package `postgresql`)."""


def bin_dir() -> Path:
    """The newest installed PostgreSQL's bin dir; raises PostgresUnavailable if none is."""
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"), reverse=True)
    if not candidates:
        raise PostgresUnavailable("install Debian's postgresql package (make sysdeps does)")
    return candidates[0].parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _server_user() -> tuple[int, int] | tuple[None, None]:
    """(uid, gid) to run the server as: `postgres` when we are root, else no change.

    Switching user in the child itself (not through `runuser`) keeps the
    Popen pid the postmaster's, so the shutdown signal reaches PostgreSQL.
    """
    if os.geteuid() != 0:
        return None, None
    pg = pwd.getpwnam("postgres")
    return pg.pw_uid, pg.pw_gid


def _wait_ready(bindir: Path, port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    """Poll pg_isready (the server's own readiness signal) until it answers or 30 s pass."""
    deadline = time.monotonic() + 30
    while True:
        ready = subprocess.run(
            [str(bindir / "pg_isready"), "-h", "127.0.0.1", "-p", str(port)],
            capture_output=True,
        )
        if ready.returncode == 0:
            return
        if proc.poll() is not None or time.monotonic() > deadline:
            err = log.read_text(errors="replace")
            raise RuntimeError(f"PostgreSQL did not start: {err[-2000:]}")
        time.sleep(0.1)


def is_postgres(url: str) -> bool:
    return make_url(url).get_backend_name() == "postgresql"


def dump_database(url: str, destination: Path) -> Path:
    """Write a plain-SQL `pg_dump` of the database at `url` (every row) to `destination`.

    Raises subprocess.CalledProcessError when pg_dump fails (an unread database
    is not a clean one).
    """
    parsed = make_url(url)
    subprocess.run(
        [str(bin_dir() / "pg_dump"), "-h", parsed.host or "127.0.0.1",
         "-p", str(parsed.port or 5432), "-U", parsed.username or "postgres",
         "--no-owner", "-f", str(destination), parsed.database or "postgres"],
        check=True, capture_output=True,
    )
    return destination


@dataclass(frozen=True)
class PostgresServer:
    """A running server; `url` points at its (empty, unused) database `drop`."""

    url: str
    data_dir: Path

    def database_url(self, name: str) -> str:
        return make_url(self.url).set(database=name).render_as_string(hide_password=False)

    def create_database(self) -> str:
        """A new empty database; returns its SQLAlchemy URL."""
        name = f"t_{secrets.token_hex(6)}"
        self._admin(f'CREATE DATABASE "{name}"')
        return self.database_url(name)

    def drop_database(self, url: str) -> None:
        """Drop it, disconnecting whatever a test left connected."""
        name = make_url(url).database
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    @contextlib.contextmanager
    def fresh_database(self) -> Iterator[str]:
        url = self.create_database()
        try:
            yield url
        finally:
            self.drop_database(url)

    def _admin(self, statement: str) -> None:
        engine = create_engine(self.url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                connection.execute(text(statement))
        finally:
            engine.dispose()


@contextlib.contextmanager
def running_postgres() -> Iterator[PostgresServer]:
    """Start a PostgreSQL server; stop it and delete its files on exit."""
    bindir = bin_dir()
    root = Path(tempfile.mkdtemp(prefix="drop-pg-"))
    data = root / "data"
    if os.geteuid() == 0:
        pg = pwd.getpwnam("postgres")
        os.chown(root, pg.pw_uid, pg.pw_gid)
    port = _free_port()
    env = {**os.environ, "LC_ALL": "C.UTF-8"}
    uid, gid = _server_user()
    groups: list[int] | None = None if uid is None else []
    try:
        subprocess.run(
            [str(bindir / "initdb"), "-D", str(data), "-U", "postgres",
             "--auth=trust", "--encoding=UTF8", "--no-sync"],
            check=True, capture_output=True, env=env, cwd=root,
            user=uid, group=gid, extra_groups=groups,
        )
        log_path = root / "postgres.log"
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                [str(bindir / "postgres"), "-D", str(data), "-p", str(port),
                 "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={root}",
                 "-c", "fsync=off", "-c", "full_page_writes=off",
                 "-c", "max_connections=200", "-c", "log_min_messages=warning"],
                stdout=subprocess.DEVNULL, stderr=log, env=env, cwd=root,
                user=uid, group=gid, extra_groups=groups,
            )
        try:
            _wait_ready(bindir, port, proc, log_path)
            subprocess.run(
                [str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port),
                 "-U", "postgres", "drop"],
                check=True, capture_output=True,
            )
            yield PostgresServer(f"postgresql+psycopg://postgres@127.0.0.1:{port}/drop", data)
        finally:
            # SIGINT is PostgreSQL's "fast" shutdown: it disconnects clients
            # that a test left open instead of waiting for them.
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    finally:
        shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """Start a PostgreSQL server; yield a SQLAlchemy URL to an empty database `drop`."""
    with running_postgres() as server:
        yield server.url
