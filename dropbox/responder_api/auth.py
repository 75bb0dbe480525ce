"""Request signatures (FORMAT.md §7): every failure is the same 401 with the same body.

Checked in this order, stopping at the first failure, before any view runs and
before the method and size rules (FORMAT.md §9: whatever the cause or path):
the body (a non-streaming body over 64 KiB is never read, so it cannot be
authenticated), certificate and signature (`keys.verify_request`, against the
keyring as it is on disk now), freshness (±300 s), then the nonce is recorded;
a nonce already recorded is a replay. Bodies are hashed here when small; a
streaming view (reply upload) hashes as it reads and calls
`check_streamed_body` at the end.
Nonces are kept with their day and purged after two days, which is longer than
the freshness window, so a replay is always caught.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import time
from collections.abc import Mapping
from typing import cast

from flask import Response, g, jsonify, request
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import RequestEntityTooLarge

import keys
from dropbox.db import ApiNonce
from dropbox.responder_api.blueprint import STREAMING_ENDPOINTS
from dropbox.responder_api.context import context
from keys.signatures import NONCE_HEADER, TIMESTAMP_HEADER

MAX_SKEW_SECONDS = 300
MAX_SMALL_BODY = 64 * 1024
NONCE_DAYS_KEPT = 2
_SHA256_HEX = re.compile("[0-9a-f]{64}")


def unauthorized() -> tuple[Response, int]:
    """The one answer to every authentication failure: no hint which check failed."""
    response = jsonify(error="unauthorized")
    response.headers["Cache-Control"] = "no-store"
    return response, 401


def _path_and_query() -> str:
    # The signature covers the request target as sent; servers that keep it raw say so.
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    if isinstance(raw, str) and raw.startswith("/"):
        return raw
    query = request.query_string.decode("ascii", errors="replace")
    return request.path + (f"?{query}" if query else "")


def _claimed_body_sha256() -> bytes | None:
    """The body hash the client signed for: the hash of the body we received, or for
    a streaming view the hash it declared (checked later by `check_streamed_body`)."""
    if request.endpoint in STREAMING_ENDPOINTS:
        declared = request.headers.get("X-Drop-Body-SHA256", "")
        # Exactly the §7 spelling: bytes.fromhex alone would also take
        # uppercase and spaces, giving one signed request several spellings.
        return bytes.fromhex(declared) if _SHA256_HEX.fullmatch(declared) else None
    # Signed small bodies only: a larger one is never read past the cap, and since
    # the signature covers the body's hash it cannot be authenticated: the one 401.
    request.max_content_length = MAX_SMALL_BODY
    try:
        return hashlib.sha256(request.get_data(cache=True)).digest()
    except RequestEntityTooLarge:
        return None


def _record_nonce(nonce: str, today: dt.date) -> bool:
    """Store the nonce; False if it was seen before (a replay)."""
    database = context().database
    with database.session() as session:
        try:
            with session.begin():
                session.execute(delete(ApiNonce).where(
                    ApiNonce.day < today - dt.timedelta(days=NONCE_DAYS_KEPT)))
                session.add(ApiNonce(nonce=nonce, day=today))
        except IntegrityError:
            return False
    return True


def require_signed_request() -> tuple[Response, int] | None:
    """before_request: let the request through only if it is signed, fresh and new."""
    body_sha256 = _claimed_body_sha256()
    if body_sha256 is None:
        return unauthorized()
    now = time.time()
    today = dt.datetime.fromtimestamp(now, dt.UTC).date()
    try:
        keyring = context().keyring().recipients()
        # Headers.items() yields repeated headers, so keys can refuse duplicates.
        headers = cast("Mapping[str, str]", request.headers)
        responder = keys.verify_request(headers, request.method, _path_and_query(),
                                        body_sha256, keyring, today)
    except (keys.KeysError, ValueError):
        return unauthorized()
    stamp = request.headers.get(TIMESTAMP_HEADER, "")
    if abs(int(stamp) - now) > MAX_SKEW_SECONDS:
        return unauthorized()
    if not _record_nonce(request.headers.get(NONCE_HEADER, ""), today):
        return unauthorized()
    g.drop_responder = responder
    g.drop_body_sha256 = body_sha256
    return None


def check_streamed_body(actual_sha256: bytes) -> bool:
    """For streaming views: True if the body read has the hash the request signed for."""
    expected: bytes = g.get("drop_body_sha256", b"")
    return hmac.compare_digest(expected, actual_sha256)
