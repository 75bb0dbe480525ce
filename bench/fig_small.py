"""Figure 2: small reports per second through gunicorn, vs the same app's static stylesheet.

Clients (threads, each with its own session and CSRF token) post for a fixed
time: JS-on sealed envelopes (sealed beforehand, random login secret and
reply key, as a browser sends them), JS-off forms (the server derives a
codename, hashes its login secret with Argon2id once and seals),
and GET of a static CSS file as the ceiling. Errors are counted per status;
503 is the app's documented "busy" answer when its Argon2id/sealing slots are
full.
"""

from __future__ import annotations

import secrets
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import requests

from bench.measure import Figure, Options
from keys import ReplyKeyPair, ResponderIdentity, ResponderPublicKey, encode_message
from keys import Report as ReportMessage
from tests.gunicorn_server import GunicornReporter
from tests.reporter_client import CSRF_RE, StreamedMultipart, seal_bytes

TITLE = "Small reports per second through gunicorn (2 workers x 16 threads)"
CONCURRENCY = (1, 8, 64)
SECONDS = 4.0
STYLESHEET = "/static/css/drop.css"


def sealed_body(token: str, responder: ResponderPublicKey) -> StreamedMultipart:
    reply = ReplyKeyPair.generate().public
    message = ReportMessage(category="threats", urgency="urgent", text="bench report",
                            reply_key=reply, attachments=())
    envelope = seal_bytes(encode_message(message), [responder])
    return StreamedMultipart(
        [("csrf_token", token), ("mode", "sealed"), ("reply_key", str(reply)),
         ("login_secret", secrets.token_hex(32)), ("emergency", "0")],
        [("report", "blob", envelope, len(envelope))])


def form_body(token: str) -> StreamedMultipart:
    return StreamedMultipart(
        [("csrf_token", token), ("website", ""), ("category", "threats"),
         ("urgency", "urgent"), ("text", "bench report"), ("lang", "")], [])


def run_clients(url: str, clients: int, one: Callable[[requests.Session, str], int]) -> tuple[
        float, Counter[int]]:
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    start_line = threading.Barrier(clients + 1)

    def client() -> None:
        with requests.Session() as session:
            token = CSRF_RE.search(session.get(f"{url}/submit", timeout=60).text)
            assert token
            start_line.wait()
            deadline = time.monotonic() + SECONDS
            while time.monotonic() < deadline:
                try:
                    status = one(session, token.group(1))
                except requests.RequestException:
                    status = -1
                with lock:
                    statuses[status] += 1

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    start_line.wait()
    began = time.monotonic()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    return statuses[200] / elapsed, statuses


def measure(options: Options) -> Figure:
    figure = Figure("small", TITLE)
    responder = ResponderIdentity.generate()
    with tempfile.TemporaryDirectory(prefix="bench-small-") as tmp:
        server = GunicornReporter(root=Path(tmp), responder=responder, workers=2, threads=16)
        server.start()
        url = server.url

        def js_on(session: requests.Session, token: str) -> int:
            body = sealed_body(token, responder.public)
            return session.post(f"{url}/submit", data=body, timeout=120, headers={
                "Content-Type": body.content_type, "Accept": "application/json"}).status_code

        def js_off(session: requests.Session, token: str) -> int:
            body = form_body(token)
            return session.post(f"{url}/submit", data=body, timeout=120,
                                headers={"Content-Type": body.content_type}).status_code

        def static(session: requests.Session, _token: str) -> int:
            return session.get(f"{url}{STYLESHEET}", timeout=60).status_code

        try:
            for clients in CONCURRENCY:
                rows = {}
                for label, one in (("JS-on sealed", js_on), ("JS-off form", js_off),
                                   ("static CSS", static)):
                    rates, errors = [], Counter[int]()
                    for _ in range(options.runs):
                        rate, statuses = run_clients(url, clients, one)
                        rates.append(rate)
                        errors.update({k: v for k, v in statuses.items() if k != 200})
                        for envelope in (server.instance_dir / "envelopes").iterdir():
                            envelope.unlink()
                    note = ", ".join(f"{'conn' if k < 0 else k}: {v}"
                                     for k, v in sorted(errors.items()))
                    rows[label] = figure.add(f"{label}, {clients} clients", rates, "req/s",
                                             note=f"errors {note}" if note else "0 errors")
                figure.ratio(f"JS-on / static, {clients} clients", rows["JS-on sealed"],
                             rows["static CSS"])
                figure.ratio(f"JS-off / static, {clients} clients", rows["JS-off form"],
                             rows["static CSS"])
        finally:
            server.stop()
    figure.notes.append(f"{SECONDS:.0f} s per run; 503 = the app's 'busy, nothing saved' answer")
    return figure
