"""Load: many simulated reporters at once, JS-on and JS-off, small reports and large ones.

Each simulated reporter loops until the time is up, choosing at random among
a JS-off text-only report, a JS-off report with a 0.3-2 MB attachment, a
JS-on report and a JS-on report with a 300 KB attachment. The server runs
the deployed gunicorn settings (2 gthread workers of 16 threads). Required:
no connection error, no status but 200 and the documented 503 "busy" page,
every acknowledged report stored and decrypting to what was sent, no
unacknowledged one stored, worker RSS bounded, no plaintext at rest, clean logs.
Runs on both stores (on PostgreSQL the database is checked with amcheck and a
dump of it is scanned for plaintext).
"""

from __future__ import annotations

import hashlib
import random
import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import psutil  # type: ignore[import-untyped]
import requests

from keys import ResponderIdentity
from tests.backends import SQLITE, Backend
from tests.gunicorn_server import GunicornReporter
from tests.integration.reliability_checks import (
    assert_logs_clean,
    assert_no_plaintext_at_rest,
    assert_store_consistent,
    open_reports,
)
from tests.reporter_client import Outcome, pattern_block, submit_js_off, submit_js_on

MiB = 1024 * 1024
# 2 workers x (Python + Flask, Argon2id 32 MiB x 4 login slots, sealing buffers): far above
# this means something buffers whole uploads or leaks per request.
WORKER_RSS_LIMIT = 320 * MiB
BUSY = "The drop is busy right now. Nothing was saved."


@dataclass
class LoadRun:
    server: GunicornReporter
    marker: str
    deadline: float
    lock: threading.Lock = field(default_factory=threading.Lock)
    statuses: Counter[int] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    acknowledged: dict[str, tuple[str, ...]] = field(default_factory=dict)
    refused: set[str] = field(default_factory=set)
    codenames: list[str] = field(default_factory=list)
    peak_rss: int = 0

    def record(self, text: str, outcome: Outcome, digests: tuple[str, ...]) -> None:
        with self.lock:
            self.statuses[outcome.status] += 1
            if outcome.acknowledged:
                self.acknowledged[text] = digests
                if outcome.codename and len(self.codenames) < 50:
                    self.codenames.append(outcome.codename)
            elif outcome.status == 503 and BUSY in outcome.text:
                self.refused.add(text)
            else:
                self.failures.append(f"{text}: HTTP {outcome.status} {outcome.text[:200]!r}")

    def one_report(self, rng: random.Random, name: str) -> None:
        text = f"{self.marker} {name}"
        choice = rng.randrange(4)
        with requests.Session() as session:
            if choice < 2:
                size = rng.randrange(300_000, 2_000_000) if choice else 0
                block = pattern_block(f"{self.marker} {name} file")
                outcome, body = submit_js_off(
                    session, self.server.url, text, [(block, size)] if size else [])
                self.record(text, outcome, tuple(body.file_sha256))
            else:
                attachment = secrets.token_bytes(300_000) if choice == 3 else None
                outcome = submit_js_on(
                    session, self.server.url, [self.server.responder.public], text, attachment)
                digests = (hashlib.sha256(attachment).hexdigest(),) if attachment else ()
                self.record(text, outcome, digests)

    def reporter(self, number: int) -> None:
        rng = random.Random(number)
        count = 0
        while time.monotonic() < self.deadline:
            try:
                self.one_report(rng, f"r{number}-{count}")
            except requests.RequestException as error:
                with self.lock:
                    self.failures.append(f"r{number}-{count}: {type(error).__name__}: {error}")
            count += 1

    def sample_rss(self, stop: threading.Event) -> None:
        while not stop.is_set():
            for pid in self.server.worker_pids():
                try:
                    self.peak_rss = max(self.peak_rss, psutil.Process(pid).memory_info().rss)
                except psutil.NoSuchProcess:
                    continue
            stop.wait(0.1)


def load_scenario(root: Path, reporters: int, seconds: float,
                  backend: Backend = SQLITE) -> LoadRun:
    """Run the load, then every check; returns the run for the caller's own asserts."""
    identity = ResponderIdentity.generate()
    server = GunicornReporter(root=root, responder=identity, workers=2, threads=16,
                              backend=backend).start()
    run = LoadRun(server, "LOAD-" + secrets.token_hex(6), time.monotonic() + seconds)
    stop = threading.Event()
    sampler = threading.Thread(target=run.sample_rss, args=(stop,), daemon=True)
    threads = [threading.Thread(target=run.reporter, args=(n,)) for n in range(reporters)]
    try:
        sampler.start()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        stop.set()
        sampler.join()
        server.restart()
        assert_store_consistent(server.instance_dir, database_url=server.database_url)
        spool = root / "spool"
        spool.mkdir()
        stored = {r.text: r.attachment_sha256
                  for r in open_reports(server.instance_dir, identity, spool,
                                        server.database_url)}
    finally:
        stop.set()
        server.stop()
    assert run.failures == [], "\n".join(run.failures[:20])
    lost = [text for text in run.acknowledged if text not in stored]
    assert lost == [], f"{len(lost)} acknowledged reports are not stored: {lost[:5]}"
    for text, digests in run.acknowledged.items():
        assert stored[text] == tuple(sorted(digests)), f"attachments differ for {text}"
    assert set(stored) == set(run.acknowledged), "a refused report was stored"
    assert run.peak_rss < WORKER_RSS_LIMIT, f"worker RSS peaked at {run.peak_rss // MiB} MiB"
    assert_no_plaintext_at_rest(server.at_rest_paths(), run.marker, *run.codenames[:2])
    assert_logs_clean(server.log_bytes(), run.codenames)
    return run


def test_thirty_reporters_for_ten_seconds(tmp_path: Path, backend: Backend) -> None:
    run = load_scenario(tmp_path, reporters=30, seconds=10, backend=backend)
    print(f"statuses {dict(run.statuses)}, peak worker RSS {run.peak_rss // MiB} MiB")
    assert len(run.acknowledged) >= 30, run.statuses
