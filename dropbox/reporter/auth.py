"""Who is logged in, logging in and out, and the per-session login throttle.

The session holds only the reporter's random id, never the codename or any
key. Logging in gives the browser a fresh session id (no fixation).
"""

from __future__ import annotations

import re
import secrets

from flask import session
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm.exc import StaleDataError

from dropbox.db import Reporter, today
from dropbox.reporter.accounts import login_hash, parse_login_secret
from dropbox.reporter.errors import (
    BadUpload,
    Busy,
    LoginFailed,
    NotLoggedIn,
    TooManyAttempts,
)
from dropbox.services import Services
from dropbox.sessions import LOGGED_IN_KEY, DropSession
from keys import CodenameError, CodenameKeys, derive_codename

REPORTER_KEY = LOGGED_IN_KEY
FAILURES_KEY = "login_failures"
MAX_CODENAME_CHARS = 256
# Letters (any script, for NFKC look-alikes), marks, hyphens and whitespace only.
_CODENAME_CHARS = re.compile(r"\A[^\W\d_]*(?:[\s\-][^\W\d_]*)*\Z", re.UNICODE)


def current_reporter_id() -> str | None:
    value = session.get(REPORTER_KEY)
    return value if isinstance(value, str) else None


def require_reporter_id() -> str:
    reporter_id = current_reporter_id()
    if reporter_id is None:
        raise NotLoggedIn()
    return reporter_id


def check_throttle(limit: int) -> None:
    """Refuse further attempts once this session has failed `limit` times."""
    failures = session.get(FAILURES_KEY, 0)
    if isinstance(failures, int) and failures >= limit:
        raise TooManyAttempts()


def _record_failure() -> None:
    failures = session.get(FAILURES_KEY, 0)
    session[FAILURES_KEY] = (failures if isinstance(failures, int) else 0) + 1


def _log_in(services: Services, reporter_id: str) -> None:
    if isinstance(session, DropSession) and not session.new:
        services.sessions.delete(session.sid)
        session.sid = secrets.token_urlsafe(32)
        session.new = True
    session.pop(FAILURES_KEY, None)
    session[REPORTER_KEY] = reporter_id


def codename_keys(raw: str) -> CodenameKeys:
    """Check length and characters before any work, then derive; LoginFailed otherwise."""
    if len(raw) > MAX_CODENAME_CHARS or not raw.strip() or not _CODENAME_CHARS.match(raw):
        raise LoginFailed("codename shape")
    try:
        return derive_codename(raw)
    except CodenameError:
        raise LoginFailed("codename words") from None


def log_in_with_secret(services: Services, login_secret: bytes) -> Reporter:
    """Hash, look up, start the session. LoginFailed (and one more failure) if unknown."""
    with services.login_gate.enter():
        hashed = login_hash(login_secret, services.salt)
    try:
        with services.database.session() as db, db.begin():
            reporter = db.scalar(select(Reporter).where(Reporter.login_hash == hashed))
            if reporter is None:
                _record_failure()
                raise LoginFailed("unknown")
            reporter.last_active_day = today()
    except StaleDataError:
        # `dropbox purge` deleted this account between the lookup and the update.
        raise LoginFailed("purged meanwhile") from None
    except OperationalError:
        # A purge held the database past the busy timeout: try again, not a 500.
        raise Busy("database busy") from None
    _log_in(services, reporter.id)
    return reporter


def attempt_login(services: Services, *, codename: str | None, secret_hex: str | None) -> tuple[
    Reporter, CodenameKeys | None
]:
    """Log in by codename (JS off) or by login_secret (JS on).

    Returns the reporter and, for a codename, its derived keys (for this
    request only). Raises TooManyAttempts, LoginFailed (one message for every
    failure) or Busy.
    """
    check_throttle(services.config.login_attempts_per_session)
    keys: CodenameKeys | None = None
    try:
        if secret_hex is not None:
            secret = parse_login_secret(secret_hex)
        else:
            keys = codename_keys(codename or "")
            secret = keys.login_secret
    except (LoginFailed, BadUpload):
        _record_failure()
        raise LoginFailed("malformed") from None
    return log_in_with_secret(services, secret), keys
