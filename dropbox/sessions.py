"""Server-side sessions in a SQLite file on tmpfs, as a Flask SessionInterface.

The cookie holds only an opaque random id (256 bits). The store is keyed by the
SHA-256 of that id, so reading the tmpfs file does not yield usable cookies.
Session data (the CSRF secret, the logged-in reporter's random id, a login
attempt counter, the interface language) lives only in `runtime_dir`, which
must be a tmpfs: it never reaches persistent disk and vanishes on reboot. All
gunicorn workers share the file.

Idle expiry: a session unused for `idle_minutes` is gone; one nobody is logged
into (it holds no reporter id, only the CSRF secret, the login-attempt count
and the language) lasts `ANONYMOUS_IDLE_MINUTES` (4 h), so that a report
written slowly, with the page left open, is not refused. Uploads can take
longer than that over Tor, so the upload code calls `touch()` when an upload
starts, periodically while it streams, and when it finishes: a session is never
expired in the middle of an upload. The expiry instant is stored rounded up to
the minute, in RAM only, and the row is deleted once it passes.

A deployment of several backends (Onionbalance) uses sealed cookie sessions
instead (dropbox.session_sealed, selected by DROPBOX_SESSION_KEY_FILE).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flask import Flask, Request, Response
from flask.sessions import SessionInterface, SessionMixin
from werkzeug.datastructures import CallbackDict

COOKIE_NAME = "drop_session"
# The session key that marks a logged-in reporter (dropbox.reporter.auth).
LOGGED_IN_KEY = "reporter"
ANONYMOUS_IDLE_MINUTES = 240
_ID_BYTES = 32
_MAX_DATA_BYTES = 16 * 1024
# What secrets.token_urlsafe(_ID_BYTES) hands out; anything else in a cookie is not ours.
_SID_RE = re.compile(r"\A[A-Za-z0-9_-]{43}\Z")


class SessionData(CallbackDict[str, Any], SessionMixin):
    """A session dict that remembers whether it changed and whether logout destroyed it.

    Both session interfaces (this tmpfs store and dropbox.session_sealed) hand
    out subclasses, so `destroy_session` works whichever one is installed.
    """

    def __init__(self, initial: dict[str, Any] | None, new: bool) -> None:
        def on_update(_self: CallbackDict[str, Any]) -> None:
            self.modified = True

        super().__init__(initial or {}, on_update)
        self.new = new
        self.modified = False
        self.destroyed = False


class DropSession(SessionData):
    """A session of the tmpfs store: its data and the opaque id it belongs to."""

    def __init__(self, initial: dict[str, Any] | None, sid: str, new: bool) -> None:
        super().__init__(initial, new)
        self.sid = sid
        self.permanent = False


def _key(sid: str) -> str:
    return hashlib.sha256(sid.encode("ascii")).hexdigest()


class SessionStore:
    """The SQLite file of sessions; every method opens its own short connection."""

    def __init__(self, path: Path, idle_minutes: int) -> None:
        self.path = path
        self.idle_seconds = idle_minutes * 60
        self.anonymous_idle_seconds = max(idle_minutes, ANONYMOUS_IDLE_MINUTES) * 60
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if path.parent.stat().st_uid != os.getuid():
            # A shared tmpfs (/dev/shm): someone else pre-created our directory.
            raise PermissionError(f"{path.parent} belongs to another user; refusing to use it")
        os.chmod(path.parent, 0o700)
        # The file is created at first use, so a deployment on sealed cookie
        # sessions (which never uses this store) keeps nothing on the server.
        self._created = False
        self._create_lock = threading.Lock()

    def _create(self) -> None:
        with self._create_lock:
            if self._created:
                return
            db = sqlite3.connect(self.path, timeout=10, isolation_level=None)
            try:
                # WAL: gunicorn's workers and threads read and write concurrently.
                db.execute("PRAGMA journal_mode=WAL")
                db.execute(
                    "CREATE TABLE IF NOT EXISTS sessions ("
                    " key TEXT PRIMARY KEY, data TEXT NOT NULL, expires INTEGER NOT NULL)"
                )
            finally:
                db.close()
            os.chmod(self.path, 0o600)
            self._created = True

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        if not self._created:
            self._create()
        db = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        try:
            db.execute("PRAGMA secure_delete=ON")
            yield db
        finally:
            db.close()

    def _expiry(self, idle_seconds: int) -> int:
        # Rounded up to the minute: the store never holds a finer time than it needs.
        return int(math.ceil((time.time() + idle_seconds) / 60.0) * 60)

    def _idle_seconds(self, data: dict[str, Any]) -> int:
        return self.idle_seconds if LOGGED_IN_KEY in data else self.anonymous_idle_seconds

    def load(self, sid: str) -> dict[str, Any] | None:
        """The session's data, or None if it does not exist or has expired."""
        now = int(time.time())
        with self._connect() as db:
            row = db.execute(
                "SELECT data, expires FROM sessions WHERE key = ?", (_key(sid),)
            ).fetchone()
            if row is None:
                return None
            if row[1] < now:
                db.execute("DELETE FROM sessions WHERE key = ?", (_key(sid),))
                return None
        data = json.loads(row[0])
        return data if isinstance(data, dict) else None

    def save(self, sid: str, data: dict[str, Any], create: bool = True) -> None:
        """Store `data` under `sid`; with `create` False, only if the session still exists.

        A request that opened an existing session must not bring it back once
        another request deleted it (logout, a login's new id): `create=False`.
        """
        encoded = json.dumps(data, separators=(",", ":"))
        if len(encoded) > _MAX_DATA_BYTES:
            raise ValueError("session data too large")
        key, expires = _key(sid), self._expiry(self._idle_seconds(data))
        with self._connect() as db:
            if create:
                db.execute(
                    "INSERT INTO sessions(key, data, expires) VALUES (?, ?, ?) ON CONFLICT(key)"
                    " DO UPDATE SET data = excluded.data, expires = excluded.expires",
                    (key, encoded, expires))
            else:
                db.execute("UPDATE sessions SET data = ?, expires = ? WHERE key = ?",
                           (encoded, expires, key))

    def touch(self, sid: str) -> None:
        """Push the idle expiry of an existing session forward (by its logged-in state)."""
        with self._connect() as db:
            db.execute(
                "UPDATE sessions SET expires = CASE WHEN json_type(data, ?) IS NULL"
                " THEN ? ELSE ? END WHERE key = ?",
                (
                    f"$.{LOGGED_IN_KEY}",
                    self._expiry(self.anonymous_idle_seconds),
                    self._expiry(self.idle_seconds),
                    _key(sid),
                ),
            )

    def delete(self, sid: str) -> None:
        with self._connect() as db:
            db.execute("DELETE FROM sessions WHERE key = ?", (_key(sid),))

    def purge_expired(self) -> int:
        with self._connect() as db:
            cursor = db.execute("DELETE FROM sessions WHERE expires < ?", (int(time.time()),))
            return cursor.rowcount


class DropSessionInterface(SessionInterface):
    """Flask glue: opaque cookie ↔ SessionStore row. Cookies are session-only."""

    def __init__(self, store: SessionStore) -> None:
        self.store = store

    def open_session(self, app: Flask, request: Request) -> DropSession:
        sid = request.cookies.get(COOKIE_NAME, "")
        if _SID_RE.match(sid):
            data = self.store.load(sid)
            if data is not None:
                return DropSession(data, sid, new=False)
        # New visitors are the natural moment to drop sessions that have expired.
        self.store.purge_expired()
        return DropSession(None, secrets.token_urlsafe(_ID_BYTES), new=True)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if not isinstance(session, DropSession):
            raise TypeError("DropSessionInterface saves only the sessions it opened")
        if session.destroyed:
            self.store.delete(session.sid)
            response.delete_cookie(
                COOKIE_NAME, path="/", httponly=True, samesite="Strict"
            )
            return
        if not session:
            if not session.new:
                self.store.delete(session.sid)
            return
        if session.modified or session.new:
            self.store.save(session.sid, dict(session), create=session.new)
        else:
            self.store.touch(session.sid)
        if session.new:
            # No Expires/Max-Age: the cookie dies with the browser session.
            response.set_cookie(
                COOKIE_NAME,
                session.sid,
                path="/",
                httponly=True,
                samesite="Strict",
                secure=app.config.get("SESSION_COOKIE_SECURE", False),
            )
        response.vary.add("Cookie")


def touch_session(session: SessionMixin, store: SessionStore) -> None:
    """Keep the current session alive (called during long uploads).

    Only the tmpfs store needs it. A sealed cookie session's expiry is checked
    once, when the request opens it, and pushed forward in the cookie sent with
    the response, so it cannot expire in the middle of a request either.
    """
    if isinstance(session, DropSession) and not session.new:
        store.touch(session.sid)


def destroy_session(session: SessionMixin) -> None:
    """Mark the session for deletion at the end of this request (logout)."""
    if isinstance(session, SessionData):
        session.clear()
        session.destroyed = True
