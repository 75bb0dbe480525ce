"""Sealed cookie sessions: the session travels in the cookie, encrypted and authenticated.

For deployments of several backends behind Onionbalance, where a reporter's
next circuit can reach another machine: every backend holds the same 32-byte
key (DROPBOX_SESSION_KEY_FILE) and nothing about sessions is stored on any
server. The cookie value is

    base64url( version 0x01 || nonce (24 bytes) || XChaCha20-Poly1305(payload) )

with the version byte and a label as associated data, and a fresh random nonce
for every cookie. The payload is `{"x": expiry, "d": data}` in JSON, padded
with spaces to a multiple of 256 bytes so the cookie's length does not tell
whether someone is logged in. `x` is the idle expiry in whole minutes since
the epoch; it is checked when a request opens the session and pushed forward
in the cookie sent with the response, so a session cannot expire in the middle
of a request (an upload), whatever its length. A session nobody is logged
into gets the longer anonymous expiry of dropbox.sessions.

Anything that does not open and parse (expired, tampered, truncated, sealed
under an unknown key, too long, garbage) is no session: the request gets a
fresh one. A previous key (DROPBOX_SESSION_PREVIOUS_KEY_FILE) is accepted for
reading during a key rotation; cookies are always sealed under the current key.

Logging in changes the data, so the browser gets a newly sealed cookie: a
cookie planted beforehand does not carry the login (no fixation). Concurrent
requests of one browser each answer with a cookie; the last one received wins.
A cookie cannot be revoked before its expiry (docs/THREAT_MODEL.md).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, Request, Response
from flask.sessions import SessionInterface, SessionMixin
from nacl.bindings import (
    crypto_aead_xchacha20poly1305_ietf_decrypt,
    crypto_aead_xchacha20poly1305_ietf_encrypt,
    crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
)
from nacl.exceptions import CryptoError
from nacl.utils import random as random_bytes

from dropbox.config import SESSION_KEY_BYTES
from dropbox.sessions import ANONYMOUS_IDLE_MINUTES, COOKIE_NAME, LOGGED_IN_KEY, SessionData

VERSION = b"\x01"
_LABEL = b"drop session cookie v1"
_NONCE_BYTES = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
_TAG_BYTES = 16
_PAD_BLOCK = 256
# Browsers keep cookies up to 4096 bytes (name and attributes included).
MAX_COOKIE_CHARS = 3900
_MAX_SEALED_BYTES = MAX_COOKIE_CHARS * 3 // 4
MAX_PAYLOAD_BYTES = (
    (_MAX_SEALED_BYTES - len(VERSION) - _NONCE_BYTES - _TAG_BYTES) // _PAD_BLOCK * _PAD_BLOCK
)


class SessionTooLarge(ValueError):
    """The session holds more than fits in one cookie; the app stored something it must not."""


class SealedSession(SessionData):
    """A session opened from a sealed cookie; `expires_minute` is what the cookie said."""

    def __init__(self, initial: dict[str, Any] | None, new: bool, expires_minute: int) -> None:
        super().__init__(initial, new)
        self.expires_minute = expires_minute


class CookieSealer:
    """Seals session data into cookie values and opens them, under one or two keys."""

    def __init__(
        self,
        key: bytes,
        previous_key: bytes | None,
        idle_minutes: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        for candidate in (key, previous_key):
            if candidate is not None and len(candidate) != SESSION_KEY_BYTES:
                raise ValueError(f"a session key is {SESSION_KEY_BYTES} bytes")
        self._keys = (key,) if previous_key is None else (key, previous_key)
        self.idle_minutes = idle_minutes
        self.anonymous_idle_minutes = max(idle_minutes, ANONYMOUS_IDLE_MINUTES)
        self.clock = clock

    def expiry_minute(self, logged_in: bool = True) -> int:
        """The idle expiry of a session used now, rounded up to the minute.

        A session nobody is logged into lasts longer (dropbox.sessions explains why).
        """
        idle = self.idle_minutes if logged_in else self.anonymous_idle_minutes
        return math.ceil(self.clock() / 60.0) + idle

    def seal(self, data: dict[str, Any], expires_minute: int) -> str:
        """The cookie value for `data`. Raises SessionTooLarge if it would not fit."""
        encoded = json.dumps({"x": expires_minute, "d": data}, separators=(",", ":")).encode()
        padded_length = math.ceil(max(len(encoded), 1) / _PAD_BLOCK) * _PAD_BLOCK
        if padded_length > MAX_PAYLOAD_BYTES:
            raise SessionTooLarge(
                f"session data of {len(encoded)} bytes does not fit in a cookie "
                f"(at most {MAX_PAYLOAD_BYTES})"
            )
        payload = encoded.ljust(padded_length, b" ")
        nonce = random_bytes(_NONCE_BYTES)
        sealed = crypto_aead_xchacha20poly1305_ietf_encrypt(
            payload, VERSION + _LABEL, nonce, self._keys[0]
        )
        return base64.urlsafe_b64encode(VERSION + nonce + sealed).rstrip(b"=").decode("ascii")

    def open(self, value: str) -> tuple[dict[str, Any], int] | None:
        """(data, expiry minute) from a cookie value, or None if it is not a live session.

        Never raises on any input: a cookie is attacker-controlled.
        """
        if not value or len(value) > MAX_COOKIE_CHARS:
            return None
        try:
            raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        except (binascii.Error, ValueError):
            return None
        if len(raw) < len(VERSION) + _NONCE_BYTES + _TAG_BYTES or raw[:1] != VERSION:
            return None
        nonce, sealed = raw[1 : 1 + _NONCE_BYTES], raw[1 + _NONCE_BYTES :]
        payload = self._decrypt(sealed, nonce)
        if payload is None:
            return None
        try:
            decoded = json.loads(payload)
        except ValueError:
            return None
        if not isinstance(decoded, dict):
            return None
        expires, data = decoded.get("x"), decoded.get("d")
        if type(expires) is not int or not isinstance(data, dict):
            return None
        if self.clock() > expires * 60:
            return None
        return data, expires

    def _decrypt(self, sealed: bytes, nonce: bytes) -> bytes | None:
        for key in self._keys:
            try:
                return bytes(
                    crypto_aead_xchacha20poly1305_ietf_decrypt(
                        sealed, VERSION + _LABEL, nonce, key
                    )
                )
            except CryptoError:
                continue
        return None


class SealedSessionInterface(SessionInterface):
    """Flask glue: sealed cookie ↔ session. Nothing is stored server-side.

    Cookies carry no Expires/Max-Age (they die with the browser session), are
    HttpOnly and SameSite=Strict, and Secure when SESSION_COOKIE_SECURE is set,
    exactly like the tmpfs store's.
    """

    def __init__(self, sealer: CookieSealer) -> None:
        self.sealer = sealer

    def open_session(self, app: Flask, request: Request) -> SealedSession:
        opened = self.sealer.open(request.cookies.get(COOKIE_NAME, ""))
        if opened is None:
            return SealedSession(None, new=True, expires_minute=0)
        data, expires = opened
        return SealedSession(data, new=False, expires_minute=expires)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if not isinstance(session, SealedSession):
            raise TypeError("SealedSessionInterface saves only the sessions it opened")
        response.vary.add("Cookie")
        if session.destroyed or not session:
            if session.destroyed or not session.new:
                response.delete_cookie(COOKIE_NAME, path="/", httponly=True, samesite="Strict")
            return
        expires = self.sealer.expiry_minute(logged_in=LOGGED_IN_KEY in session)
        # Unchanged and still as fresh as the minute allows: the browser's cookie is right.
        if not (session.new or session.modified or expires > session.expires_minute):
            return
        response.set_cookie(
            COOKIE_NAME,
            self.sealer.seal(dict(session), expires),
            path="/",
            httponly=True,
            samesite="Strict",
            secure=app.config.get("SESSION_COOKIE_SECURE", False),
        )
