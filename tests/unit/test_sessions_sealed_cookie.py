"""The sealed session cookie alone (dropbox.session_sealed.CookieSealer).

A round trip carries the data and the idle expiry; every cookie has a fresh
nonce and hides its content; logged-in and anonymous cookies have the same
length; tampered, truncated, extended, expired, garbage, wrongly shaped and
foreign-key cookies open to no session, without raising; the previous key
still reads during a rotation; a session too large for a cookie is refused.
"""

from __future__ import annotations

import base64
import json
import secrets

import pytest
from hypothesis import given
from hypothesis import strategies as st
from nacl.bindings import crypto_aead_xchacha20poly1305_ietf_encrypt

from dropbox import session_sealed
from dropbox.session_sealed import MAX_COOKIE_CHARS, CookieSealer, SessionTooLarge
from tests.sealed_session_support import IDLE_MINUTES, NOW, Clock, sealer


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
