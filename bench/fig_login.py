"""Figure 3: codename login: the server's Argon2id per login, logins/s, memory under 100 at once.

The browser derives the login secret from the codename and sends only that;
the server computes Argon2id(login secret, instance salt, opslimit 2, 32 MiB)
and looks the hash up. Measured: that hash alone in-process (the cost per
login), then 100 clients logging in at the same moment through gunicorn
(2 workers x 16 threads; at most 4 Argon2id at once per worker, a login that
waits more than 2 s for a slot gets the documented 503 "busy"), with the
workers' peak RSS over their idle size.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import requests

from bench.measure import Figure, MiB, Options, PeakRss
from dropbox.reporter.accounts import login_hash
from keys import ResponderIdentity, derive_codename
from tests.gunicorn_server import GunicornReporter
from tests.reporter_client import CSRF_RE, submit_js_on

TITLE = "Codename login: server Argon2id cost, logins/s, memory under 100 concurrent"
ACCOUNTS = 20
CONCURRENT = 100


def hash_cost_ms(runs: int) -> list[float]:
    salt, secret = os.urandom(16), os.urandom(32)
    samples = []
    for _ in range(max(5, runs * 3)):
        start = time.perf_counter()
        login_hash(secret, salt)
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def login_burst(url: str, secrets_hex: list[str]) -> tuple[float, Counter[int]]:
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    sessions = [requests.Session() for _ in range(CONCURRENT)]
    tokens = []
    for session in sessions:
        found = CSRF_RE.search(session.get(f"{url}/login", timeout=60).text)
        assert found
        tokens.append(found.group(1))
    gate = threading.Barrier(CONCURRENT + 1)

    def one(index: int) -> None:
        gate.wait()
        try:
            status = sessions[index].post(
                f"{url}/login", timeout=120, headers={"Accept": "application/json"},
                data={"csrf_token": tokens[index],
                      "login_secret": secrets_hex[index % len(secrets_hex)]}).status_code
        except requests.RequestException:
            status = -1
        with lock:
            statuses[status] += 1

    threads = [threading.Thread(target=one, args=(i,)) for i in range(CONCURRENT)]
    for thread in threads:
        thread.start()
    gate.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    for session in sessions:
        session.close()
    return statuses[200] / elapsed, statuses


def measure(options: Options) -> Figure:
    figure = Figure("login", TITLE)
    cost = figure.add("server Argon2id per login (in-process)", hash_cost_ms(options.runs), "ms")
    responder = ResponderIdentity.generate()
    with tempfile.TemporaryDirectory(prefix="bench-login-") as tmp:
        server = GunicornReporter(root=Path(tmp), responder=responder, workers=2, threads=16)
        server.start()
        try:
            secrets_hex = []
            for _ in range(ACCOUNTS):
                with requests.Session() as session:
                    outcome = submit_js_on(session, server.url, [responder.public], "bench")
                assert outcome.acknowledged, outcome.text
                secrets_hex.append(derive_codename(outcome.codename).login_secret.hex())
            login_burst(server.url, secrets_hex)  # warm-up
            rates, growth, errors = [], [], Counter[int]()
            for _ in range(options.runs):
                with PeakRss(server.worker_pids) as idle:
                    time.sleep(0.2)
                with PeakRss(server.worker_pids) as busy:
                    rate, statuses = login_burst(server.url, secrets_hex)
                rates.append(rate)
                growth.append(max(0, busy.peak - idle.peak) / MiB)
                errors.update({k: v for k, v in statuses.items() if k != 200})
        finally:
            server.stop()
    note = ", ".join(f"{'conn' if k < 0 else k}: {v}" for k, v in sorted(errors.items()))
    rate_row = figure.add(f"logins/s, {CONCURRENT} at once", rates, "logins/s",
                          note=f"non-200: {note}" if note else "all 200")
    figure.add(f"worker peak RSS growth, {CONCURRENT} concurrent logins", growth, "MiB")
    ideal = figure.add("ideal logins/s on all cores (cores / Argon2id time)",
                       [(os.cpu_count() or 1) * 1000 / cost.value] if cost.value else [],
                       "logins/s")
    figure.ratio("measured logins/s / ideal", rate_row, ideal)
    return figure
