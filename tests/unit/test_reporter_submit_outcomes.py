"""What a reporter is told, and what is kept, when a submit meets trouble (review findings).

- A failure after the commit never discards what was committed, and never
  says "nothing was saved" (#4); a content file broken after startup does not
  cost a report, and one broken before startup stops the app (#4).
- A stranger without a CSRF token holds no sealing-gate slot (#2).
- An anonymous session outlives a long report, and a JS-off form refused for
  its token comes back with the text already typed (#10).
- A follow-up to a deleted inbox says so and logs out (#9).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import delete, func, select
from werkzeug.test import EnvironBuilder

from dropbox.app import create_app
from dropbox.db import Envelope, Reporter
from dropbox.reporter.content import ContentError
from dropbox.session_sealed import CookieSealer
from dropbox.sessions import SessionStore
from tests.unit.conftest import (
    Part,
    ReporterEnv,
    codename_from,
    csrf_token,
    make_reporter_env,
    multipart,
    post_multipart,
)

TEXT = "they wait outside my building every night"


@pytest.fixture
def env(tmp_path: Path) -> Iterator[ReporterEnv]:
    reporter_env = make_reporter_env(tmp_path)
    yield reporter_env
    reporter_env.services.database.engine.dispose()


def _report(token: str, *, with_file: bool = True) -> list[Part]:
    parts: list[Part] = [("csrf_token", token), ("website", ""), ("category", "threats"),
                         ("urgency", "emergency"), ("text", TEXT), ("lang", "")]
    if with_file:
        parts.append(("attachments", (b"PHOTO" * 200, "a.jpg", "image/jpeg")))
    return parts


def _counts(env: ReporterEnv) -> tuple[int, int, int]:
    """(reporter rows, envelope rows, envelope files)."""
    with env.services.database.session() as db:
        reporters = db.scalar(select(func.count()).select_from(Reporter)) or 0
        rows = db.scalar(select(func.count()).select_from(Envelope)) or 0
    return reporters, rows, len(list(env.config.envelopes_dir.iterdir()))


def test_crisis_file_broken_after_startup_still_gives_the_codename(env: ReporterEnv) -> None:
    client = env.client()
    token = csrf_token(client)
    assert env.config.crisis_file is not None
    env.config.crisis_file.write_text('{"title": "Help", "sections": [', encoding="utf-8")
    response = post_multipart(client, "/submit", _report(token))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert codename_from(page)
    assert "If you are in danger right now" in page  # the shipped crisis text instead
    assert _counts(env) == (1, 2, 2)


def test_malformed_content_file_stops_the_app_at_startup(env: ReporterEnv) -> None:
    assert env.config.safety_file is not None
    env.config.safety_file.write_text('{"title": "Stay safe", "sections": "no"}', "utf-8")
    with pytest.raises(ContentError, match=r"safety\.json"):
        create_app(env.config, env.services)


def _fail_saving_sessions(env: ReporterEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    """From now on, finishing a response fails (as a full tmpfs or a locked store would)."""

    def save_session(*_args: object) -> None:
        raise OSError("no space left for the session store")

    monkeypatch.setattr(env.app.session_interface, "save_session", save_session)
    env.app.testing = False  # errors reach the app's error pages, as in production


def test_failure_after_commit_still_delivers_the_codename(
    env: ReporterEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = env.client()
    token = csrf_token(client)
    _fail_saving_sessions(env, monkeypatch)
    response = post_multipart(client, "/submit", _report(token))
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and codename_from(page)
    assert "Nothing was saved" not in page
    assert _counts(env) == (1, 2, 2)


def test_failure_after_commit_keeps_a_sealed_followup(
    env: ReporterEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = env.client()
    page = post_multipart(client, "/submit", _report(csrf_token(client))).get_data(as_text=True)
    assert client.post("/login", data={"csrf_token": csrf_token(client, "/login"),
                                       "codename": codename_from(page)}).status_code == 200
    token = csrf_token(client, "/inbox")
    _fail_saving_sessions(env, monkeypatch)
    response = post_multipart(client, "/followup", [("csrf_token", token), ("mode", "sealed"),
                              ("followup", (_envelope(env), "f", "application/octet-stream"))],
                              headers={"Accept": "application/json"})
    assert response.status_code == 200 and response.get_json() == {"ok": True}
    assert _counts(env) == (1, 3, 3)


def _envelope(env: ReporterEnv) -> bytes:
    """A well-formed envelope sealed to the test responder (as the page JS would send)."""
    import io

    from keys import FollowUp, Sealer, encode_message

    out = io.BytesIO()
    with Sealer(out, [env.identity.public]) as sealer:
        sealer.write(encode_message(FollowUp(text="sealed in the browser", attachments=())))
    return out.getvalue()


class _StalledBody:
    """A stranger's wsgi.input: a few bytes, then nothing until released."""

    def __init__(self, release: threading.Event, started: threading.Event) -> None:
        self.release, self.started, self.sent = release, started, False

    def read(self, size: int = -1) -> bytes:
        if not self.sent:
            self.sent = True
            self.started.set()
            return b"--x\r\n"
        self.release.wait(30)
        return b""

    readline = read


def _run_wsgi(env: ReporterEnv, environ: dict[str, Any]) -> None:
    def start_response(*_args: Any) -> Any:
        return lambda _data: None

    list(env.app.wsgi_app(environ, start_response))


def test_strangers_without_a_token_hold_no_sealing_slot(env: ReporterEnv) -> None:
    release = threading.Event()
    threads = []
    try:
        for _ in range(env.config.upload_concurrency):
            started = threading.Event()
            environ: dict[str, Any] = EnvironBuilder(
                path="/submit", method="POST",
                content_type="multipart/form-data; boundary=x").get_environ()
            environ.update({"wsgi.input": _StalledBody(release, started),
                            "CONTENT_LENGTH": "10000", "wsgi.input_terminated": False})
            thread = threading.Thread(target=_run_wsgi, args=(env, environ))
            thread.start()
            threads.append(thread)
            assert started.wait(10), "the view never read the body"
        client = env.client()
        response = post_multipart(client, "/submit", _report(csrf_token(client)))
        assert response.status_code == 200 and codename_from(response.get_data(as_text=True))
    finally:
        release.set()
        for thread in threads:
            thread.join(30)


def test_anonymous_sessions_outlive_a_long_report_logged_in_ones_do_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [1_000_000.0]
    monkeypatch.setattr(time, "time", lambda: now[0])
    store = SessionStore(tmp_path / "rt" / "sessions.sqlite3", idle_minutes=30)
    store.save("writer", {"csrf_token": "t"})
    store.save("reader", {"reporter": "r", "csrf_token": "u"})
    now[0] += 31 * 60
    assert store.load("writer") == {"csrf_token": "t"}
    assert store.load("reader") is None
    store.touch("writer")  # an upload starting: the anonymous expiry again, not 30 minutes
    now[0] += 200 * 60
    assert store.load("writer") == {"csrf_token": "t"}
    now[0] += 41 * 60
    assert store.load("writer") is None
    sealer = CookieSealer(bytes(32), None, 30, clock=lambda: now[0])
    minute = int(now[0] // 60)
    assert sealer.expiry_minute(logged_in=True) - minute <= 31
    assert sealer.expiry_minute(logged_in=False) - minute >= 240


def test_expired_token_shows_the_form_again_with_the_text(env: ReporterEnv) -> None:
    client = env.client()
    csrf_token(client)
    response = post_multipart(client, "/submit", _report("an-expired-token"))
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert TEXT in page and "This form had expired" in page
    assert "files you chose were not kept" in page
    assert 'name="csrf_token" value="an-expired-token"' not in page  # a fresh token
    assert _counts(env) == (0, 0, 0)
    assert list(env.config.tmp_dir.iterdir()) == []
    resent = post_multipart(client, "/submit", _report(csrf_token(client)))
    assert resent.status_code == 200


def _logged_in_reporter(env: ReporterEnv) -> FlaskClient:
    """A client logged in to the inbox of the report it has just sent."""
    client = env.client()
    codename = codename_from(post_multipart(
        client, "/submit", _report(csrf_token(client), with_file=False)).get_data(as_text=True))
    assert client.post("/login", data={"csrf_token": csrf_token(client, "/login"),
                                       "codename": codename}).status_code == 200
    return client


def _delete_every_inbox(env: ReporterEnv) -> None:
    with env.services.database.session() as db, db.begin():  # as the responders' delete does
        db.execute(delete(Envelope))
        db.execute(delete(Reporter))


def test_followup_to_a_deleted_inbox_says_so_and_logs_out(env: ReporterEnv) -> None:
    client = _logged_in_reporter(env)
    token = csrf_token(client, "/inbox")
    _delete_every_inbox(env)
    body, content_type = multipart([("csrf_token", token), ("text", "more"),
                                    ("attachments", (b"X" * 100, "x.txt", "text/plain"))])
    response = client.post("/followup", data=body, content_type=content_type)
    page = response.get_data(as_text=True)
    assert response.status_code == 410
    assert "no longer exists" in page and "try again in a little while" not in page
    assert client.get("/inbox").status_code == 303  # logged out
    # Only the first report's file, which this test's SQL delete did not wipe.
    assert _counts(env) == (0, 0, 1)


def test_inbox_page_of_a_deleted_inbox_says_so_and_logs_out(env: ReporterEnv) -> None:
    client = _logged_in_reporter(env)
    assert client.get("/inbox").status_code == 200
    _delete_every_inbox(env)
    response = client.get("/inbox")
    page = response.get_data(as_text=True)
    assert response.status_code == 410
    assert "no longer exists" in page and "logged out" in page
    assert client.get("/inbox").status_code == 303  # logged out
