"""Hostile session cookies against the tmpfs session store (dropbox.sessions).

The cookie is attacker-controlled: whatever it holds, the request gets a fresh
session, never a server error, and nothing the client sent becomes a session id.
A session deleted at logout stays deleted, whatever requests were in flight.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Response, request

from dropbox.sessions import COOKIE_NAME, LOGGED_IN_KEY, DropSessionInterface
from tests.unit.conftest import ReporterEnv, csrf_from, csrf_token, make_reporter_env
from tests.unit.test_reporter_journeys import marker, submit_js_off


@pytest.fixture
def tmpfs_env(tmp_path: Path) -> Iterator[ReporterEnv]:
    env = make_reporter_env(tmp_path)
    yield env
    env.services.database.engine.dispose()


# Werkzeug decodes the Cookie header as UTF-8, so a client can hand the store any
# character; the raw WSGI value is latin-1 text carrying those UTF-8 bytes.
HOSTILE_IDS = {
    "non-ascii": "\u00e9t\u00e9".encode().decode("latin-1"),
    "control": "abc\x7fdef",
    "space-inside": '"a b"',
}


@pytest.mark.parametrize("raw", HOSTILE_IDS.values(), ids=HOSTILE_IDS.keys())
def test_a_malformed_session_id_gets_a_fresh_session(tmpfs_env: ReporterEnv, raw: str) -> None:
    assert isinstance(tmpfs_env.app.session_interface, DropSessionInterface)
    client = tmpfs_env.app.test_client(use_cookies=False)
    response = client.get("/submit", environ_overrides={"HTTP_COOKIE": f"{COOKIE_NAME}={raw}"})
    assert response.status_code == 200
    [header] = [h for h in response.headers.getlist("Set-Cookie")
                if h.startswith(COOKIE_NAME + "=")]
    fresh = header.split(";")[0].split("=", 1)[1]
    assert len(fresh) == 43 and fresh.isascii()


def test_a_request_in_flight_at_logout_does_not_bring_the_session_back(
        tmpfs_env: ReporterEnv) -> None:
    # A thief's copy of the cookie in a slow request (an upload with ?lang=...),
    # opened before the reporter logs out and saved after: logout must still win.
    client = tmpfs_env.client()
    codename = submit_js_off(client, marker("report"), [])
    client.post("/login", data={"csrf_token": csrf_token(client, "/login"),
                                "codename": codename})
    cookie = client.get_cookie(COOKIE_NAME)
    assert cookie is not None
    interface = tmpfs_env.app.session_interface
    assert isinstance(interface, DropSessionInterface)
    app = tmpfs_env.app
    with app.test_request_context("/", headers={"Cookie": f"{COOKIE_NAME}={cookie.value}"}):
        in_flight = interface.open_session(app, request)
    assert LOGGED_IN_KEY in in_flight

    token = csrf_from(client.get("/inbox").get_data(as_text=True))
    assert client.post("/logout", data={"csrf_token": token}).status_code == 303

    in_flight["lang"] = "fr"  # what the request changed meanwhile
    with app.test_request_context("/"):
        interface.save_session(app, in_flight, Response())
    assert interface.store.load(cookie.value) is None
    thief = app.test_client()
    thief.set_cookie(COOKIE_NAME, cookie.value)
    assert thief.get("/inbox").status_code == 303
