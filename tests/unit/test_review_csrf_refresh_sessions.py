"""Review of GET /csrf-token and the closed-inbox page under both session stores.

The tmpfs store and sealed cookie sessions (DROPBOX_SESSION_KEY_FILE) each:
fetching a fresh token keeps the session's secret (a token already on another
open page stays valid) and keeps a logged-in reporter logged in; a follow-up
whose session has ended is refused as "log in", never as a stale token (so
the page script does not resend it into a new, anonymous session); and a
deleted inbox answers 410 and logs out, even to a replayed old cookie.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import delete

from dropbox.db import Envelope, Reporter
from dropbox.sessions import COOKIE_NAME
from tests.sealed_session_support import write_key
from tests.unit.conftest import (
    ReporterEnv,
    codename_from,
    csrf_token,
    make_reporter_env,
    post_multipart,
)

JSON = {"Accept": "application/json"}


@pytest.fixture(params=["tmpfs", "sealed"])
def env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ReporterEnv]:
    overrides: dict[str, object] = {}
    if request.param == "sealed":
        overrides["session_key_file"] = write_key(tmp_path / "session-key")
    reporter_env = make_reporter_env(tmp_path, **overrides)
    yield reporter_env
    reporter_env.services.database.engine.dispose()


def _logged_in(env: ReporterEnv) -> FlaskClient:
    client = env.client()
    sent = post_multipart(client, "/submit", [
        ("csrf_token", csrf_token(client)), ("website", ""), ("category", "threats"),
        ("urgency", "normal"), ("text", "a report"), ("lang", "")])
    codename = codename_from(sent.get_data(as_text=True))
    assert client.post("/login", data={"csrf_token": csrf_token(client, "/login"),
                                       "codename": codename}).status_code == 200
    return client


def _fresh_token(client: FlaskClient) -> str:
    answer = client.get("/csrf-token", headers=JSON)
    assert answer.status_code == 200
    token: str = answer.get_json()["csrf_token"]
    return token


def _followup(client: FlaskClient, token: str) -> tuple[int, dict[str, object]]:
    answer = post_multipart(client, "/followup", [
        ("mode", "sealed"), ("csrf_token", token), ("emergency", "0")], headers=JSON)
    return answer.status_code, answer.get_json()


def test_fresh_token_keeps_the_login_and_the_page_tokens(env: ReporterEnv) -> None:
    client = _logged_in(env)
    page_token = csrf_token(client, "/inbox")
    fresh = _fresh_token(client)
    assert client.get("/inbox").status_code == 200  # still logged in
    # Both tokens pass the check (the refusal comes later: no follow-up envelope).
    for token in (page_token, fresh):
        status, body = _followup(client, token)
        assert status == 400 and body.get("code") != "csrf"


def test_followup_after_the_session_ended_asks_to_log_in_not_to_resend(
    env: ReporterEnv,
) -> None:
    client = _logged_in(env)
    page_token = csrf_token(client, "/inbox")
    client.set_cookie(COOKIE_NAME, "ended")  # what an expired or unknown session looks like
    status, body = _followup(client, page_token)
    assert status == 403 and "code" not in body
    # Even with a fresh token the new session is anonymous: still "log in".
    status, body = _followup(client, _fresh_token(client))
    assert status == 403 and "code" not in body


def test_closed_inbox_logs_out_even_a_replayed_cookie(env: ReporterEnv) -> None:
    client = _logged_in(env)
    cookie = client.get_cookie(COOKIE_NAME)
    assert cookie is not None
    with env.services.database.session() as db, db.begin():
        db.execute(delete(Envelope))
        db.execute(delete(Reporter))
    closed = client.get("/inbox")
    assert closed.status_code == 410
    assert any(h.startswith(f"{COOKIE_NAME}=;") for h in closed.headers.getlist("Set-Cookie"))
    assert client.get("/inbox").status_code == 303
    client.set_cookie(COOKIE_NAME, cookie.value)  # a copy kept from before
    assert client.get("/inbox").status_code in (303, 410)
    answer = client.get("/inbox", headers=JSON)
    assert answer.status_code in (303, 410)
