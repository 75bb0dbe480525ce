"""Crash safety: workers (and once the master) SIGKILLed in the middle of uploads.

Uploads of mixed sizes, JS-off (streamed, sealed by the server) and JS-on
(sealed here). While a JS-off body is streaming, at a random byte offset, the
worker holding the connection is killed with SIGKILL; once per run the master
goes instead, and the server is started again on the same instance. At the
end the server is restarted, then:
every acknowledged report is there and decrypts to exactly what was sent,
every stored report is complete (an unacknowledged one may have been saved
whole, never in part), rows and files match one to one, `tmp/` is empty
(`gunicorn.conf.py` clears it when the master starts), the database is intact
(SQLite: `PRAGMA integrity_check`; PostgreSQL: amcheck), no plaintext is at
rest (on PostgreSQL, a dump of the database is scanned too) and the logs are clean.
The scenario runs on both stores.
"""

from __future__ import annotations

import hashlib
import random
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil  # type: ignore[import-untyped]
import pytest
import requests

from keys import ResponderIdentity
from tests.backends import SQLITE, Backend
from tests.gunicorn_server import GunicornReporter
from tests.integration.reliability_checks import (
    assert_logs_clean,
    assert_no_plaintext_at_rest,
    assert_store_consistent,
    leftover_temp_files,
    open_reports,
    times_of_day,
)
from tests.pg_server import PostgresServer
from tests.reporter_client import pattern_block, submit_js_off, submit_js_on

SIZES = (0, 100_000, 700_000, 2_500_000)


class Killed(Exception):
    """Raised into the request body to stop sending once the server process is gone."""


@dataclass
class Sent:
    text: str
    attachment_sha256: tuple[str, ...]
    acknowledged: bool


@dataclass
class CrashRun:
    server: GunicornReporter
    rng: random.Random
    marker: str
    sent: list[Sent] = field(default_factory=list)
    codenames: list[str] = field(default_factory=list)
    kills: int = 0
    temp_after_restart: list[str] = field(default_factory=list)

    def worker_serving(self) -> int | None:
        """The worker holding an established connection on the server port."""
        for pid in self.server.worker_pids():
            try:
                connections = psutil.Process(pid).net_connections(kind="tcp")
            except psutil.NoSuchProcess:
                continue
            if any(c.status == psutil.CONN_ESTABLISHED and c.laddr.port == self.server.port
                   for c in connections):
                return pid
        return None

    def upload_js_off(self, index: int, kill: str | None) -> None:
        size = self.rng.choice(SIZES[1:] if kill else SIZES)
        kill_at = self.rng.randrange(1, size) if kill else None
        block = pattern_block(f"{self.marker} file {index}")
        text = f"{self.marker} report {index}"

        def on_progress(sent: int) -> None:
            nonlocal kill_at
            if kill_at is None or sent < kill_at:
                return
            kill_at = None
            if kill == "master":
                self.server.kill_master()
            else:
                pid = self.worker_serving()
                assert pid is not None, "no worker holds the upload's connection"
                self.server.kill_worker(pid)
            self.kills += 1
            raise Killed()

        with requests.Session() as session:
            try:
                outcome, body = submit_js_off(
                    session, self.server.url, text, [(block, size)] if size else [], on_progress
                )
            except (Killed, requests.ConnectionError):
                self.sent.append(Sent(text, (), False))
                return
        if outcome.acknowledged:
            self.codenames.append(outcome.codename)
        self.sent.append(Sent(text, tuple(sorted(body.file_sha256)), outcome.acknowledged))

    def upload_js_on(self, index: int) -> None:
        size = self.rng.choice(SIZES[:3])
        attachment = (f"{self.marker} sealed {index} ".encode() * (size // 40 + 1))[:size]
        text = f"{self.marker} report {index}"
        with requests.Session() as session:
            outcome = submit_js_on(session, self.server.url, [self.server.responder.public],
                                   text, attachment if size else None)
        digests = (hashlib.sha256(attachment).hexdigest(),) if size else ()
        self.sent.append(Sent(text, digests, outcome.acknowledged))


def crash_scenario(root: Path, uploads: int, seed: int, backend: Backend = SQLITE) -> CrashRun:
    """Run `uploads` uploads with kills; returns the run after all checks passed."""
    identity = ResponderIdentity.generate()
    server = GunicornReporter(root=root, responder=identity, workers=2, threads=4,
                              backend=backend).start()
    run = CrashRun(server, random.Random(seed), "CRASH-" + secrets.token_hex(6))
    print(f"crash scenario seed {seed}")
    js_off = [i for i in range(uploads) if i % 4 != 3]
    master_kill_at = run.rng.choice(js_off[len(js_off) // 2:])
    try:
        for index in range(uploads):
            if index % 4 == 3:
                run.upload_js_on(index)
            else:
                kill = "master" if index == master_kill_at else (
                    "worker" if index % 3 == 1 else None)
                run.upload_js_off(index, kill)
            if server.process is not None and server.process.poll() is not None:
                server.restart()
            else:
                server.wait_for_workers()
        server.restart()
        instance = server.instance_dir
        run.temp_after_restart = leftover_temp_files(instance)
        assert_store_consistent(instance, temp_must_be_empty=False,
                                database_url=server.database_url)
        spool = root / "spool"
        spool.mkdir()
        stored = {r.text: r
                  for r in open_reports(instance, identity, spool, server.database_url)}
        for item in run.sent:
            if item.acknowledged:
                assert item.text in stored, f"acknowledged report lost: {item.text}"
            if item.text in stored:
                assert stored[item.text].attachment_sha256 == item.attachment_sha256, item.text
        assert set(stored) <= {item.text for item in run.sent}
    finally:
        server.stop()
    assert_no_plaintext_at_rest(server.at_rest_paths(), run.marker, *run.codenames[:2])
    assert_logs_clean(server.log_bytes(), run.codenames)
    return run


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def crash_run(request: pytest.FixtureRequest,
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[CrashRun]:
    root = tmp_path_factory.mktemp("crash")
    if request.param == "sqlite":
        yield crash_scenario(root, uploads=20, seed=secrets.randbits(32))
        return
    cluster: PostgresServer = request.getfixturevalue("postgres_cluster")
    with cluster.fresh_database() as url:
        yield crash_scenario(root, uploads=20, seed=secrets.randbits(32),
                             backend=Backend("postgresql", url))


def test_kill_9_during_uploads_loses_nothing_acknowledged(crash_run: CrashRun) -> None:
    # The scenario itself asserted the store; here: it really crashed and really saved.
    assert crash_run.kills >= 5
    assert sum(s.acknowledged for s in crash_run.sent) >= 5


def test_restart_removes_temp_files_of_killed_uploads(crash_run: CrashRun) -> None:
    assert crash_run.kills >= 5
    assert crash_run.temp_after_restart == []


def test_logs_hold_no_time_of_day(crash_run: CrashRun) -> None:
    logs = crash_run.server.log_bytes()
    assert b"SIGKILL" in logs, "the crashes should have been logged"
    assert times_of_day(logs) == []
