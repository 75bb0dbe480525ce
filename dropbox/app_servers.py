"""The reporter app and the responder API, each under its own gunicorn.

Used by `dropbox run` / `dropbox demo` and the tor tests. gunicorn reads
deploy/gunicorn.conf.py. Each master leads its own process group (one SIGTERM
stops it and its workers) and dies with the process that started it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess  # nosec B404 # fixed argv only, never a shell
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dropbox.tor_process import die_with_parent

REPO = Path(__file__).resolve().parents[1]
GUNICORN_CONF = REPO / "deploy" / "gunicorn.conf.py"
REPORTER_TARGET = "dropbox.wsgi:reporter_app()"
RESPONDER_TARGET = "dropbox.wsgi:responder_app()"


class AppServerError(Exception):
    """gunicorn did not start or did not answer; the message carries its log tail."""


@dataclass
class AppServer:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no log)"

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, grace: float = 20.0) -> None:
        """SIGTERM the gunicorn process group, SIGKILL after `grace` seconds."""
        if not self.alive():
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


def start_app_server(name: str, target: str, port: int, env: Mapping[str, str],
                     log_dir: Path, timeout: float = 60.0) -> AppServer:
    """Start gunicorn serving `target` on 127.0.0.1:port; return once it accepts connections.

    Raises AppServerError (with gunicorn's log) when it exits or stays silent.
    """
    log_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    log_path = log_dir / f"{name}-gunicorn.log"
    full_env = {**os.environ, **env, "DROPBOX_BIND": f"127.0.0.1:{port}",
                "DROPBOX_PROC_NAME": f"drop-{name}"}
    with open(log_path, "ab") as log:
        process = subprocess.Popen(  # noqa: S603 # nosec B603 # fixed argv
            [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF), target],
            cwd=REPO, env=full_env, stdin=subprocess.DEVNULL, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=die_with_parent)
    server = AppServer(name=name, port=port, process=process, log_path=log_path)
    deadline = time.monotonic() + timeout
    while True:
        if not server.alive():
            raise AppServerError(f"the {name} app (gunicorn) exited:\n{server.log_tail()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return server
        except OSError:
            pass
        if time.monotonic() > deadline:
            server.stop()
            raise AppServerError(f"the {name} app did not listen on {port} in {timeout:.0f} s:\n"
                                 f"{server.log_tail()}")
        time.sleep(0.1)  # polling the real signal: the port accepting connections
