"""Sealed cookie sessions in the real reporter app (dropbox.session_sealed.SealedSessionInterface).

The interface's cookie flags; nothing written server-side across a submit and a
login; a bad cookie gets a fresh session and fails CSRF; logout clears the
cookie; and the upload contract: a session opened before a long request is
still alive in the cookie sent after it, and an unchanged session is resent
only when its expiry moves.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Response, request
from werkzeug.wrappers import Response as BaseResponse

from dropbox.session_sealed import SealedSession, SealedSessionInterface
from dropbox.sessions import COOKIE_NAME, touch_session
from tests.sealed_session_support import IDLE_MINUTES, Clock, sealer, write_key
from tests.unit.conftest import (
    Part,
    ReporterEnv,
    csrf_token,
    make_reporter_env,
    post_multipart,
)
from tests.unit.test_reporter_journeys import marker, submit_js_off


@pytest.fixture
def sealed_env(tmp_path: Path) -> Iterator[ReporterEnv]:
    key_file = write_key(tmp_path / "session-key")
    env = make_reporter_env(tmp_path, session_key_file=key_file)
    yield env
    env.services.database.engine.dispose()


def cookie_header(response: BaseResponse) -> str:
    [header] = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(COOKIE_NAME)]
    return header


def test_app_uses_sealed_cookies_with_the_usual_flags(sealed_env: ReporterEnv) -> None:
    assert isinstance(sealed_env.app.session_interface, SealedSessionInterface)
    response = sealed_env.client().get("/submit")
    attributes = [part.strip().lower() for part in cookie_header(response).split(";")]
    assert "httponly" in attributes and "samesite=strict" in attributes and "path=/" in attributes
    assert not any(a.startswith(("expires", "max-age")) for a in attributes)
    assert "Cookie" in response.headers["Vary"]


def test_submit_and_login_keep_nothing_on_the_server(sealed_env: ReporterEnv) -> None:
    client = sealed_env.client()
    codename = submit_js_off(client, marker("report"), [])
    response = client.post(
        "/login", data={"csrf_token": csrf_token(client, "/login"), "codename": codename})
    assert response.status_code == 200
    assert client.get("/inbox").status_code == 200
    runtime = sealed_env.config.runtime_dir
    assert not runtime.exists() or list(runtime.iterdir()) == []
    assert not sealed_env.config.sessions_path.exists()


def test_bad_cookie_gets_a_fresh_session_and_fails_csrf(sealed_env: ReporterEnv) -> None:
    client = sealed_env.client()
    token = csrf_token(client)
    cookie = client.get_cookie(COOKIE_NAME)
    assert cookie is not None
    parts: list[Part] = [("csrf_token", token), ("website", ""), ("category", "threats"),
                         ("urgency", "normal"), ("text", marker("report")), ("lang", ""),
                         ("attachments", (b"", "", "text/plain"))]
    for bad in (cookie.value[:-3], cookie.value[:40], "garbage", sealer().seal({}, 10**9)):
        client.set_cookie(COOKIE_NAME, bad)
        response = post_multipart(client, "/submit", parts)
        assert response.status_code == 400, bad
        # Refused: no codename issued (the form shown again has only an empty slot for one).
        assert 'class="codename">' not in response.get_data(as_text=True).replace(
            'class="codename"></output>', "")
    client.set_cookie(COOKIE_NAME, cookie.value)
    response = post_multipart(client, "/submit", parts)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert 'class="codename"' in response.get_data(as_text=True)


def test_logout_clears_the_cookie(sealed_env: ReporterEnv) -> None:
    client = sealed_env.client()
    codename = submit_js_off(client, marker("report"), [])
    client.post("/login", data={"csrf_token": csrf_token(client, "/login"), "codename": codename})
    logged_in = client.get_cookie(COOKIE_NAME)
    assert logged_in is not None
    token = csrf_token(client, "/inbox")
    response = client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 303
    assert "Max-Age=0" in cookie_header(response) or "expires=Thu, 01 Jan 1970" in cookie_header(
        response)
    assert client.get_cookie(COOKIE_NAME) is None
    assert client.get("/inbox").status_code == 303


def test_session_never_expires_during_a_long_request(sealed_env: ReporterEnv) -> None:
    clock = Clock()
    box = sealer(clock=clock)
    interface = SealedSessionInterface(box)
    value = box.seal({"reporter": "r", "csrf_token": "t"}, box.expiry_minute())
    clock.now += (IDLE_MINUTES - 1) * 60  # the upload starts just before the idle expiry
    app = sealed_env.app
    with app.test_request_context("/submit", headers={"Cookie": f"{COOKIE_NAME}={value}"}):
        session = interface.open_session(app, request)
        assert not session.new and session["reporter"] == "r"
        clock.now += 3 * 3600  # three hours of streaming over Tor
        touch_session(session, sealed_env.services.sessions)
        response = Response("ok")
        interface.save_session(app, session, response)
    renewed = cookie_header(response).split(";", 1)[0].split("=", 1)[1]
    assert box.open(value) is None  # the old cookie did expire meanwhile
    assert box.open(renewed) == ({"reporter": "r", "csrf_token": "t"},
                                 int(clock.now // 60) + IDLE_MINUTES)


def test_unchanged_session_is_resent_only_when_its_expiry_moves(sealed_env: ReporterEnv) -> None:
    clock = Clock()
    interface = SealedSessionInterface(sealer(clock=clock))
    app = sealed_env.app
    opened = SealedSession({"lang": "en"}, new=False, expires_minute=sealer(
        clock=clock).expiry_minute(logged_in=False))
    response = Response("ok")
    interface.save_session(app, opened, response)
    assert not response.headers.getlist("Set-Cookie")
    clock.now += 60
    interface.save_session(app, opened, response)
    assert cookie_header(response)
