"""A throwaway PostgreSQL server for tests: Debian's binaries, our own data dir, loopback only.

It runs as the `postgres` system user when the tests run as root (PostgreSQL
refuses to run as root), listens on 127.0.0.1 on a free port, and is stopped
and deleted at the end. Nothing here is a stub: it is the real server.
"""

from __future__ import annotations

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


class PostgresUnavailable(RuntimeError):
    """PostgreSQL's server binaries are not installed (Debian package `postgresql`)."""


def _bin_dir() -> Path:
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"), reverse=True)
    if not candidates:
        raise PostgresUnavailable("install Debian's postgresql package (make sysdeps does)")
    return candidates[0].parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_user(cmd: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


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


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """Start a PostgreSQL server; yield a SQLAlchemy URL to an empty database `drop`."""
    bindir = _bin_dir()
    root = Path(tempfile.mkdtemp(prefix="drop-pg-"))
    data = root / "data"
    if os.geteuid() == 0:
        pg = pwd.getpwnam("postgres")
        os.chown(root, pg.pw_uid, pg.pw_gid)
    port = _free_port()
    env = {**os.environ, "LC_ALL": "C.UTF-8"}
    try:
        subprocess.run(
            _as_user([str(bindir / "initdb"), "-D", str(data), "-U", "postgres",
                      "--auth=trust", "--encoding=UTF8", "--no-sync"]),
            check=True, capture_output=True, env=env,
        )
        log_path = root / "postgres.log"
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                _as_user([str(bindir / "postgres"), "-D", str(data), "-p", str(port),
                          "-c", "listen_addresses=127.0.0.1",
                          "-c", f"unix_socket_directories={root}",
                          "-c", "fsync=off", "-c", "log_min_messages=warning"]),
                stdout=subprocess.DEVNULL, stderr=log, env=env,
            )
        try:
            _wait_ready(bindir, port, proc, log_path)
            subprocess.run(
                [str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port),
                 "-U", "postgres", "drop"],
                check=True, capture_output=True,
            )
            yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/drop"
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
