"""Sealed cookie sessions (dropbox.session_sealed): the cookie is the session.

The sealer alone (round trip, fresh nonces, every kind of bad cookie → no
session, key rotation, padding, size limit); the key file checks that make the
app refuse to start; the interface in the real reporter app (cookie flags,
nothing written server-side, a bad cookie fails CSRF, logout clears the
cookie); and the upload contract: a session opened before a long request is
still alive in the cookie sent after it.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Response, request
from hypothesis import given
from hypothesis import strategies as st
from nacl.bindings import crypto_aead_xchacha20poly1305_ietf_encrypt
from werkzeug.wrappers import Response as BaseResponse

from dropbox import session_sealed
from dropbox.app import create_app
from dropbox.config import Config, ConfigError
from dropbox.session_sealed import (
    MAX_COOKIE_CHARS,
    CookieSealer,
    SealedSession,
    SealedSessionInterface,
    SessionTooLarge,
)
from dropbox.sessions import COOKIE_NAME, touch_session
from tests.unit.conftest import (
    Part,
    ReporterEnv,
    csrf_token,
    make_reporter_env,
    post_multipart,
)
from tests.unit.test_reporter_journeys import marker, submit_js_off

IDLE_MINUTES = 30
NOW = 1_800_000_000.0


class Clock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def sealer(key: bytes | None = None, previous: bytes | None = None,
           clock: Clock | None = None) -> CookieSealer:
    return CookieSealer(key or bytes(32), previous, IDLE_MINUTES, clock or Clock())


def write_key(path: Path, key: bytes | None = None, mode: int = 0o600) -> Path:
    path.write_bytes(secrets.token_bytes(32) if key is None else key)
    os.chmod(path, mode)
    return path


@pytest.fixture
def sealed_env(tmp_path: Path) -> Iterator[ReporterEnv]:
    key_file = write_key(tmp_path / "session-key")
    env = make_reporter_env(tmp_path, session_key_file=key_file)
    yield env
    env.services.database.engine.dispose()


def cookie_header(response: BaseResponse) -> str:
    [header] = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(COOKIE_NAME)]
    return header


# --- the sealer ------------------------------------------------------------------


def test_round_trip_carries_data_and_expiry() -> None:
    clock = Clock()
    box = sealer(clock=clock)
    data = {"csrf_token": "a" * 40, "reporter": "b" * 32, "login_failures": 2, "lang": "ar"}
    opened = box.open(box.seal(data, box.expiry_minute()))
    assert opened == (data, int(NOW // 60) + IDLE_MINUTES)


def test_each_cookie_has_a_fresh_nonce_and_hides_its_content() -> None:
    box = sealer()
    first, second = (box.seal({"reporter": "secret-id"}, 1) for _ in range(2))
    assert first != second
    raw = base64.urlsafe_b64decode(first + "=" * (-len(first) % 4))
    assert b"secret-id" not in raw and b"reporter" not in raw


def test_logged_in_and_anonymous_cookies_have_the_same_length() -> None:
    box = sealer()
    anonymous = box.seal({"csrf_token": secrets.token_hex(20)}, 1)
    logged_in = box.seal(
        {"csrf_token": secrets.token_hex(20), "reporter": secrets.token_hex(16),
         "login_failures": 3, "lang": "es"}, 1)
    assert len(anonymous) == len(logged_in)


def test_tampered_truncated_and_extended_cookies_are_no_session() -> None:
    box = sealer()
    value = box.seal({"reporter": "x"}, box.expiry_minute())
    raw = bytearray(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
    for position in range(len(raw)):
        tampered = bytearray(raw)
        tampered[position] ^= 0x01
        encoded = base64.urlsafe_b64encode(bytes(tampered)).rstrip(b"=").decode()
        assert box.open(encoded) is None, position
    for cut in (1, 10, 16, len(value) // 2, len(value) - 1):
        assert box.open(value[:cut]) is None
    assert box.open(value + "AAAA") is None


def test_wrong_key_is_no_session_and_the_previous_key_still_reads() -> None:
    old, new = secrets.token_bytes(32), secrets.token_bytes(32)
    value = sealer(old).seal({"reporter": "x"}, sealer().expiry_minute())
    assert sealer(new).open(value) is None
    assert sealer(new, previous=old).open(value) == ({"reporter": "x"}, sealer().expiry_minute())
    # Cookies are always sealed under the current key, never the previous one.
    resealed = sealer(new, previous=old).seal({"reporter": "x"}, sealer().expiry_minute())
    assert sealer(new).open(resealed) is not None
    assert sealer(old).open(resealed) is None


def test_expired_cookie_is_no_session() -> None:
    clock = Clock()
    box = sealer(clock=clock)
    value = box.seal({"reporter": "x"}, box.expiry_minute())
    clock.now += IDLE_MINUTES * 60
    assert box.open(value) is not None
    clock.now += 61
    assert box.open(value) is None


@pytest.mark.parametrize("value", [
    "", "garbage", "!!!!", "A" * 200, "=" * 10, "\u00e9t\u00e9", "AQ", "Ag" + "A" * 100,
    "A" * (MAX_COOKIE_CHARS + 1),
])
def test_garbage_is_no_session(value: str) -> None:
    assert sealer().open(value) is None


@given(st.text(max_size=300))
def test_any_string_is_no_session_without_raising(value: str) -> None:
    assert sealer().open(value) is None


def test_payloads_that_are_not_sessions_are_refused() -> None:
    # Authentic cookies whose payload has the wrong shape (sealed with the real key).
    box = sealer()
    expiry = box.expiry_minute()
    assert box.open(_seal_raw(box, {"x": expiry, "d": {}})) == ({}, expiry)  # the control
    shapes: list[object] = [{"d": {}}, {"x": "1", "d": {}}, {"x": expiry, "d": []},
                            {"x": True, "d": {}}, [expiry, {}], "text", None]
    for shape in shapes:
        assert box.open(_seal_raw(box, shape)) is None, shape


def _seal_raw(box: CookieSealer, payload: object) -> str:
    nonce = secrets.token_bytes(24)
    body = json.dumps(payload).encode()
    sealed = crypto_aead_xchacha20poly1305_ietf_encrypt(
        body, session_sealed.VERSION + session_sealed._LABEL, nonce, bytes(32))
    return base64.urlsafe_b64encode(session_sealed.VERSION + nonce + sealed).decode().rstrip("=")


def test_session_that_would_not_fit_in_a_cookie_is_refused() -> None:
    box = sealer()
    fits = box.seal({"lang": "x" * 2000}, 1)
    assert len(fits) <= MAX_COOKIE_CHARS
    with pytest.raises(SessionTooLarge):
        box.seal({"lang": "x" * 4000}, 1)


# --- the key file ------------------------------------------------------------------


@pytest.mark.parametrize(("content", "mode", "message"), [
    (None, 0o600, "cannot read"),
    (b"x" * 31, 0o600, "holds 31 bytes"),
    (b"x" * 33, 0o600, "holds 33 bytes"),
    (b"x" * 32, 0o640, "readable by group or others"),
    (b"x" * 32, 0o604, "readable by group or others"),
])
def test_bad_key_file_refuses_to_start(tmp_path: Path, content: bytes | None, mode: int,
                                       message: str) -> None:
    key_file = tmp_path / "session-key"
    if content is not None:
        write_key(key_file, content, mode)
    env = {"DROPBOX_RUNTIME_DIR": str(tmp_path / "rt"), "DROPBOX_SESSION_KEY_FILE": str(key_file)}
    with pytest.raises(ConfigError, match=message):
        Config.for_instance(tmp_path / "instance", env)
    config = Config.for_instance(tmp_path / "instance", {"DROPBOX_RUNTIME_DIR": env[
        "DROPBOX_RUNTIME_DIR"]}).replace(session_key_file=key_file)
    with pytest.raises(ConfigError, match=message):
        create_app(config)


def test_previous_key_needs_a_current_key(tmp_path: Path) -> None:
    previous = write_key(tmp_path / "old-key")
    with pytest.raises(ConfigError, match="without DROPBOX_SESSION_KEY_FILE"):
        Config.for_instance(tmp_path / "i", {"DROPBOX_SESSION_PREVIOUS_KEY_FILE": str(previous)})


def test_good_key_files_are_read_from_the_environment(tmp_path: Path) -> None:
    current, previous = write_key(tmp_path / "key"), write_key(tmp_path / "old-key", mode=0o400)
    config = Config.for_instance(tmp_path / "i", {
        "DROPBOX_RUNTIME_DIR": str(tmp_path / "rt"),
        "DROPBOX_SESSION_KEY_FILE": str(current),
        "DROPBOX_SESSION_PREVIOUS_KEY_FILE": str(previous),
    })
    assert (config.session_key_file, config.session_previous_key_file) == (current, previous)
    assert Config.for_instance(tmp_path / "j", {}).session_key_file is None


# --- the interface in the reporter app ---------------------------------------------------


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
        assert 'class="codename"' not in response.get_data(as_text=True)
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
        clock=clock).expiry_minute())
    response = Response("ok")
    interface.save_session(app, opened, response)
    assert not response.headers.getlist("Set-Cookie")
    clock.now += 60
    interface.save_session(app, opened, response)
    assert cookie_header(response)

