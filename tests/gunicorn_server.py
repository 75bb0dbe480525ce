"""The reporter app under real gunicorn, with handles for the reliability tests and the bench.

Extends the browser layer's `ReporterServer` (tests/browser/server.py: private
instance, runtime, TMPDIR and log dirs, the deployed deploy/gunicorn.conf.py,
readiness by polling `GET /`, the query helpers over the database) with what
crash, disk-full and load scenarios need:

- the master pid and the worker pids (psutil), waiting until all workers run;
- `kill_worker()` / `kill_master()` (SIGKILL, as a crash would) and `restart()`
  on the same instance dir;
- worker and thread counts and extra DROPBOX_* variables;
- `small_disk_bytes`: the instance dir on a tmpfs of that size, mounted in a
  private mount namespace (`unshare -m`, root only) so the host sees nothing;
  the test reads it through `/proc/<master>/root/` while the server runs;
- `file_size_limit`: RLIMIT_FSIZE on the server, where mounting is not allowed
  (writes past it fail with EFBIG: Python ignores SIGXFSZ);
- `backend`: the store (tests/backends.py). On PostgreSQL the server gets
  DROPBOX_DATABASE_URL, the query helpers read that database, and
  `at_rest_paths()` adds a fresh `pg_dump` of it for the plaintext scan.
"""

from __future__ import annotations

import os
import resource
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped]
from sqlalchemy import create_engine, text

from tests.backends import SQLITE, Backend
from tests.browser.server import APP_TARGET, GUNICORN_CONF, ReporterServer

WORKERS_TIMEOUT_S = 60.0


def can_mount_private_tmpfs() -> bool:
    """True when this process may mount a tmpfs in a private mount namespace (root + unshare)."""
    if os.geteuid() != 0:
        return False
    probe = subprocess.run(
        ["unshare", "-m", "--propagation", "private", "sh", "-c",
         "mount -t tmpfs -o size=1m tmpfs /mnt && umount /mnt"],
        capture_output=True, check=False,
    )
    return probe.returncode == 0


@dataclass
class GunicornReporter(ReporterServer):
    """A running reporter app; `start()` returns once every worker is up and `GET /` answers."""

    workers: int = 2
    threads: int = 4
    extra_env: dict[str, str] = field(default_factory=dict)
    small_disk_bytes: int | None = None
    file_size_limit: int | None = None
    backend: Backend = SQLITE

    @property
    def database_url(self) -> str | None:
        """The PostgreSQL database the server uses; None: its instance's SQLite file."""
        return self.backend.url

    def at_rest_paths(self) -> list[Path]:
        return [*super().at_rest_paths(), *self.backend.at_rest_paths(self.root / "db-dumps")]

    def _query(self, sql: str, params: tuple[object, ...] = ()) -> list[Any]:
        if self.backend.url is None:
            return super()._query(sql, params)
        # The base class writes SQLite's "?" placeholders; bind them by name here.
        pieces = sql.split("?")
        named = pieces[0] + "".join(f":p{i}{piece}" for i, piece in enumerate(pieces[1:]))
        engine = create_engine(self.backend.url)
        try:
            with engine.connect() as connection:
                result = connection.execute(
                    text(named), {f"p{i}": value for i, value in enumerate(params)})
                return list(result.mappings())
        finally:
            engine.dispose()

    @property
    def master_pid(self) -> int:
        assert self.process is not None, "the server is not running"
        return self.process.pid

    def worker_pids(self) -> list[int]:
        """The pids of the live workers (children of the master)."""
        try:
            children = psutil.Process(self.master_pid).children()
        except psutil.NoSuchProcess:
            return []
        return [c.pid for c in children if c.status() != psutil.STATUS_ZOMBIE]

    def instance_view(self) -> Path:
        """The instance dir as the server sees it (through its mount namespace if private)."""
        if self.small_disk_bytes is None:
            return self.instance_dir
        return Path(f"/proc/{self.master_pid}/root") / self.instance_dir.relative_to("/")

    def _command(self) -> list[str]:
        gunicorn = [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF), APP_TARGET]
        if self.small_disk_bytes is None:
            return gunicorn
        # The keyring is written before the tmpfs hides it: copy it onto the tmpfs.
        keyring_copy = self.root / "keyring.json"
        keyring_copy.write_bytes((self.instance_dir / "keyring.json").read_bytes())
        script = (
            f"mount -t tmpfs -o size={self.small_disk_bytes},mode=0700 drop-small "
            f"{shlex.quote(str(self.instance_dir))} && "
            f"cp {shlex.quote(str(keyring_copy))} {shlex.quote(str(self.instance_dir))}/ && "
            f"exec {shlex.join(gunicorn)}"
        )
        # unshare execs (no fork), so the Popen pid is gunicorn's master.
        return ["unshare", "-m", "--propagation", "private", "sh", "-c", script]

    def start(self) -> GunicornReporter:
        super().start()
        self.wait_for_workers()
        return self

    def _env(self) -> dict[str, str]:
        return {
            **super()._env(),
            "DROPBOX_WORKERS": str(self.workers),
            "DROPBOX_THREADS": str(self.threads),
            **self.backend.env(),
            **self.extra_env,
        }

    def _preexec(self) -> Callable[[], None] | None:
        return None if self.file_size_limit is None else self._limit_file_size

    def _limit_file_size(self) -> None:
        if self.file_size_limit is not None:
            limit = self.file_size_limit
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    def wait_for_workers(self, timeout: float = WORKERS_TIMEOUT_S) -> list[int]:
        """Poll until `workers` live workers exist; raises TimeoutError otherwise."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pids = self.worker_pids()
            if len(pids) >= self.workers:
                return pids
            time.sleep(0.05)
        raise TimeoutError(f"gunicorn has {len(self.worker_pids())} of {self.workers} workers")

    def kill_worker(self, pid: int) -> None:
        """SIGKILL one worker, as an OOM kill or a crash would; the master spawns another."""
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            return

    def kill_master(self) -> None:
        """SIGKILL the master and then its whole process group (workers die with it)."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self._wait_group_gone()

    def _wait_group_gone(self, timeout: float = 30.0) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                os.killpg(self.process.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)
        raise TimeoutError("gunicorn processes outlived SIGKILL")

    def stop(self) -> None:
        """SIGTERM the group, SIGKILL after a grace period; returns once every process is gone."""
        if self.process is None:
            return
        if self.process.poll() is None:
            super().stop()
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            return
        self._wait_group_gone()

    def restart(self) -> GunicornReporter:
        """Stop (whatever state the server is in) and start again on the same instance."""
        self.stop()
        return self.start()

    def log_bytes(self) -> bytes:
        return b"".join(p.read_bytes() for p in sorted(self.log_dir.glob("*.log")))
