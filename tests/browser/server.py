"""A real reporter app under real gunicorn, for the browser tests.

`ReporterServer.start()` makes a private instance dir whose keyring holds one
test responder key, starts gunicorn on a free 127.0.0.1 port with its own
TMPDIR and runtime dir and log files, and returns once `GET /` answers.
The test holds the responder secret so it can open what the browser sent.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import keys

REPO = Path(__file__).resolve().parents[2]
GUNICORN_CONF = REPO / "deploy" / "gunicorn.conf.py"
# The deployed entry point and settings (deploy/gunicorn.conf.py), pointed at a test instance.
APP_TARGET = "dropbox.wsgi:reporter_app()"
READY_TIMEOUT_S = 60.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class StoredEnvelope:
    id: str
    kind: str
    reporter_id: str
    parent_id: str | None
    emergency: bool


@dataclass
class ReporterServer:
    root: Path
    responder: keys.ResponderIdentity
    port: int = 0
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def instance_dir(self) -> Path:
        return self.root / "instance"

    @property
    def runtime_dir(self) -> Path:
        return self.root / "runtime"

    @property
    def tmp_dir(self) -> Path:
        return self.root / "tmp"

    @property
    def log_dir(self) -> Path:
        return self.root / "logs"

    @property
    def database(self) -> Path:
        return self.instance_dir / "drop.sqlite3"

    def at_rest_paths(self) -> list[Path]:
        """Everything the server could have written: scan these for plaintext."""
        return [self.instance_dir, self.runtime_dir, self.tmp_dir, self.log_dir]

    def start(self) -> ReporterServer:
        for directory in (self.instance_dir, self.runtime_dir, self.tmp_dir, self.log_dir):
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        keyring = self.instance_dir / "keyring.json"
        if not keyring.exists():  # a restart on the same instance keeps its keyring
            entries = [{"name": "Test responder", "key": str(self.responder.public)}]
            keyring.write_text(json.dumps(entries), encoding="utf-8")
        self.port = free_port()
        with open(self.log_dir / "gunicorn-stdout.log", "ab") as out:
            self.process = subprocess.Popen(
                self._command(), cwd=self.root, env=self._env(), stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=self._preexec(),
            )
        self._wait_ready()
        return self

    def _env(self) -> dict[str, str]:
        """The server's environment: this instance's dirs, port and log, 4 threads."""
        return {
            **os.environ,
            "DROPBOX_INSTANCE": str(self.instance_dir),
            "DROPBOX_RUNTIME_DIR": str(self.runtime_dir),
            "TMPDIR": str(self.tmp_dir),
            "DROPBOX_BIND": f"127.0.0.1:{self.port}",
            "DROPBOX_ERROR_LOG": str(self.log_dir / "gunicorn-error.log"),
            "DROPBOX_WORKER_TMP_DIR": str(self.tmp_dir),
            "DROPBOX_THREADS": "4",
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        }

    def _command(self) -> list[str]:
        return [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF), APP_TARGET]

    def _preexec(self) -> Callable[[], None] | None:
        """What runs in the child before gunicorn starts (subclasses set limits here)."""
        return None

    def _wait_ready(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited early:\n{self.logs()}")
            try:
                with urllib.request.urlopen(self.url + "/", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.1)  # polling the real readiness signal: the HTTP answer
        self.stop()
        raise RuntimeError(f"gunicorn did not answer within {READY_TIMEOUT_S}s:\n{self.logs()}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def logs(self) -> str:
        return "\n".join(
            p.read_text(errors="replace")[-4000:] for p in sorted(self.log_dir.glob("*.log"))
        )

    def assert_logs_anonymous(self) -> None:
        """The server's logs hold no client address, user agent or time of day."""
        for path in sorted(self.log_dir.glob("*.log")):
            text = path.read_text(errors="replace")
            for pattern, what in (
                (r"127\.0\.0\.1", "a client address"),
                (r"Mozilla/|HeadlessChrome|Firefox/", "a user agent"),
                (r"\b\d{2}:\d{2}(:\d{2})?\b", "a time of day"),
            ):
                match = re.search(pattern, text)
                assert match is None, f"{path.name} holds {what}: {match.group()!r}"

    # What the server stored -------------------------------------------------

    def _query(self, sql: str, params: tuple[object, ...] = ()) -> list[sqlite3.Row]:
        connection = sqlite3.connect(f"file:{self.database}?mode=ro", uri=True, timeout=10)
        connection.row_factory = sqlite3.Row
        try:
            return list(connection.execute(sql, params))
        finally:
            connection.close()

    def envelopes(self, kind: str | None = None) -> list[StoredEnvelope]:
        rows = self._query(
            "SELECT id, kind, reporter_id, parent_id, emergency FROM envelopes"
            + (" WHERE kind = ?" if kind else "") + " ORDER BY seq",
            (kind,) if kind else (),
        )
        return [StoredEnvelope(r["id"], r["kind"], r["reporter_id"], r["parent_id"],
                               bool(r["emergency"])) for r in rows]

    def wait_for_envelopes(
        self, kind: str, count: int, timeout: float = 30.0
    ) -> list[StoredEnvelope]:
        """Poll the database until `count` envelopes of `kind` exist (a real signal)."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.envelopes(kind)
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.1)

    def reply_key_of(self, reporter_id: str) -> str:
        rows = self._query("SELECT reply_key FROM reporters WHERE id = ?", (reporter_id,))
        return str(rows[0]["reply_key"])

    def open_envelope(self, envelope_id: str) -> bytes:
        """Decrypt a stored envelope with the test responder's secret key."""
        ciphertext = (self.instance_dir / "envelopes" / envelope_id).read_bytes()
        plaintext = io.BytesIO()
        keys.decrypt(io.BytesIO(ciphertext), plaintext, self.responder)
        return plaintext.getvalue()

    def envelope_sha256(self, envelope_id: str) -> str:
        data = (self.instance_dir / "envelopes" / envelope_id).read_bytes()
        return hashlib.sha256(data).hexdigest()

    def put_reply(self, reporter_id: str, text: str,
                  sealed_to: keys.ReplyPublicKey | None = None) -> str:
        """Store a responder's reply for `reporter_id`, as the responder API would.

        `sealed_to` seals it to another key instead (a reply the reporter cannot open).
        """
        reply_pk = keys.ReplyPublicKey.parse(self.reply_key_of(reporter_id))
        sealed = io.BytesIO()
        message = keys.encode_message(keys.Reply(text=text, responder="Test desk"))
        keys.encrypt(io.BytesIO(message), sealed, [sealed_to or reply_pk])
        data = sealed.getvalue()
        signature = keys.sign_reply(self.responder, reply_pk, hashlib.sha256(data).hexdigest())
        envelope_id = os.urandom(16).hex()
        path = self.instance_dir / "envelopes" / envelope_id
        path.write_bytes(data)
        connection = sqlite3.connect(self.database, timeout=10)
        try:
            with connection:
                connection.execute(
                    "INSERT INTO envelopes (id, reporter_id, kind, parent_id, size, day, "
                    "emergency, signature, responder) VALUES (?, ?, 'reply', NULL, ?, ?, 0, ?, ?)",
                    (envelope_id, reporter_id, len(data),
                     dt.datetime.now(dt.UTC).date().isoformat(),
                     base64.b64encode(signature).decode(), self.responder.public.fingerprint),
                )
        finally:
            connection.close()
        return envelope_id
