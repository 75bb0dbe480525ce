"""Fixtures for the integration layer: the reporter app under real gunicorn.

`gunicorn_reporter` starts `gunicorn 'dropbox.wsgi:reporter_app()'` on a free
127.0.0.1 port with its own instance, runtime and temp dirs (a responder key
in the keyring, the matching identity kept by the test), waits until the port
accepts connections, and stops the server at the end. The server's own output
goes to files the tests scan. It runs once on each store (`backend`,
tests/conftest.py): SQLite in the instance dir, and a PostgreSQL database of
the test's own, chosen through DROPBOX_DATABASE_URL as a deployment would.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from dropbox.keyring import Keyring
from keys import ResponderIdentity
from tests.backends import Backend

STARTUP_TIMEOUT = 60.0
DEPLOY_CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "gunicorn.conf.py"


@dataclass
class RunningReporter:
    url: str
    process: subprocess.Popen[bytes]
    instance: Path
    runtime: Path
    tmp: Path
    logs: Path
    identity: ResponderIdentity
    backend: Backend

    @property
    def database_url(self) -> str:
        return self.backend.url or f"sqlite:///{self.instance / 'drop.sqlite3'}"

    def database_dumps(self) -> list[Path]:
        """For PostgreSQL, a fresh dump of the database to scan (SQLite is in the instance)."""
        return self.backend.at_rest_paths(self.instance.parent / "db-dumps")

    def scan_paths(self) -> list[Path]:
        return [self.instance, self.runtime, self.tmp, self.logs, *self.database_dumps()]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float) -> None:
    """Return once 127.0.0.1:port accepts a connection; fail if the server died first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"gunicorn did not listen on {port} within {timeout} s")


@pytest.fixture
def gunicorn_reporter(tmp_path: Path, backend: Backend) -> Iterator[RunningReporter]:
    instance, runtime, tmp, logs = (tmp_path / n for n in ("instance", "runtime", "tmp", "logs"))
    for directory in (instance, tmp, logs):
        directory.mkdir()
    identity = ResponderIdentity.generate()
    Keyring.load(instance / "keyring.json").add("Integration responder", str(identity.public))
    port = free_port()
    env = {
        **os.environ,
        "DROPBOX_INSTANCE": str(instance),
        "DROPBOX_RUNTIME_DIR": str(runtime),
        "TMPDIR": str(tmp),
        **backend.env(),
    }
    command = [
        sys.executable, "-m", "gunicorn", "-c", str(DEPLOY_CONFIG), "dropbox.wsgi:reporter_app()",
        "--bind", f"127.0.0.1:{port}", "--workers", "2", "--worker-tmp-dir", str(tmp),
        # Asked for an access log on purpose: the app must still write no request line.
        "--access-logfile", str(logs / "access.log"), "--error-logfile", str(logs / "error.log"),
    ]
    with open(logs / "stdout.log", "wb") as out, open(logs / "stderr.log", "wb") as err:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=err)
    try:
        wait_for_port(port, process, STARTUP_TIMEOUT)
        yield RunningReporter(
            f"http://127.0.0.1:{port}", process, instance, runtime, tmp, logs, identity, backend
        )
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
