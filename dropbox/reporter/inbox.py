"""Login, the inbox of replies, reply ciphertext, deleting a reply, logout.

With JavaScript off the reporter types the codename; the server derives the
reply key in memory for that one request, decrypts the replies into the
response and forgets it. With JavaScript on the browser sends only the login
secret and decrypts `/reply/<id>.env` itself.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from flask import (
    Response,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    session,
    url_for,
)
from sqlalchemy import select
from werkzeug.exceptions import NotFound
from werkzeug.wrappers import Response as BaseResponse

from dropbox.db import Envelope, Reporter
from dropbox.reporter.auth import attempt_login, current_reporter_id, require_reporter_id
from dropbox.reporter.errors import InboxClosed, NotLoggedIn, ReporterError
from dropbox.reporter.pages import submit_page_context
from dropbox.reporter.receive import wants_json
from dropbox.services import Services, services
from dropbox.sessions import destroy_session
from dropbox.storage import UnknownEnvelope
from keys import KeysError, Reply, ReplyKeyPair, decode_message, decrypt

# Replies are short letters; anything bigger is not decrypted into a page.
MAX_INLINE_REPLY_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class ShownReply:
    id: str
    day: str
    text: str | None
    responder: str | None
    unreadable: bool = False


def _reply_rows(svc: Services, reporter_id: str) -> list[Envelope]:
    with svc.database.session() as db:
        return list(
            db.scalars(
                select(Envelope)
                .where(Envelope.reporter_id == reporter_id, Envelope.kind == "reply")
                .order_by(Envelope.seq)
            )
        )


def _open_reply(svc: Services, row: Envelope, key: ReplyKeyPair) -> ShownReply:
    if row.size > MAX_INLINE_REPLY_BYTES:
        return ShownReply(row.id, row.day.isoformat(), None, None, unreadable=True)
    plaintext = io.BytesIO()
    try:
        with svc.store.open(row.id) as source:
            # Spool (if ever needed) on the tmpfs runtime dir, never on disk.
            decrypt(source, plaintext, key, spool_dir=svc.config.runtime_dir)
        message = decode_message(plaintext.getvalue())
    except (KeysError, UnknownEnvelope):
        return ShownReply(row.id, row.day.isoformat(), None, None, unreadable=True)
    if not isinstance(message, Reply):
        return ShownReply(row.id, row.day.isoformat(), None, None, unreadable=True)
    return ShownReply(row.id, row.day.isoformat(), message.text, message.responder)


def render_inbox(
    svc: Services,
    reporter_id: str,
    *,
    reply_key: ReplyKeyPair | None = None,
    followup_errors: dict[str, str] | None = None,
    followup_text: str | None = None,
) -> str:
    """The inbox page; `followup_text` fills the follow-up form (a message that could
    not be sent, given back to be sent again)."""
    rows = _reply_rows(svc, reporter_id)
    if reply_key is not None:
        replies = [_open_reply(svc, row, reply_key) for row in rows]
    else:
        replies = [ShownReply(row.id, row.day.isoformat(), None, None) for row in rows]
    return render_template(
        "inbox.html",
        replies=replies,
        decrypted=reply_key is not None,
        errors=followup_errors or {},
        followup_text=followup_text,
        **submit_page_context(svc),
    )


def login_form() -> str:
    return render_template("login.html", error=None)


def login_post() -> Response | str | tuple[str, int]:
    svc = services()
    secret_hex = request.form.get("login_secret")
    codename = request.form.get("codename")
    # A JS-off follow-up refused when its session ended (submit._followup_refused) is
    # carried through the login, a mistyped one too, back into the follow-up form.
    unsent = request.form.get("unsent_text")
    if unsent is not None and len(unsent) > svc.config.max_text_chars:
        unsent = None
    try:
        reporter, keys = attempt_login(svc, codename=codename, secret_hex=secret_hex)
    except ReporterError as error:
        if secret_hex is not None or wants_json():
            response = jsonify({"ok": False, "error": error.message})
            response.status_code = error.status
            return response
        return render_template("login.html", error=error.message, unsent_text=unsent), error.status
    if keys is None:
        return jsonify({"ok": True, "inbox": url_for("reporter.inbox")})
    return render_inbox(svc, reporter.id, reply_key=keys.reply, followup_text=unsent)


def inbox() -> BaseResponse | str:
    """GET /inbox. Raises InboxClosed (and logs out) once the responders deleted the inbox:
    an empty inbox would tell the reporter to keep waiting for a reply that cannot come."""
    reporter_id = current_reporter_id()
    if reporter_id is None:
        return redirect(url_for("reporter.login_form"), code=303)
    svc = services()
    with svc.database.session() as db:
        exists = db.get(Reporter, reporter_id) is not None
    if not exists:
        destroy_session(session)
        raise InboxClosed()
    return render_inbox(svc, reporter_id)


def _owned_reply(svc: Services, reply_id: str) -> Envelope:
    reporter_id = require_reporter_id()
    with svc.database.session() as db:
        row = db.scalar(
            select(Envelope).where(
                Envelope.id == reply_id,
                Envelope.reporter_id == reporter_id,
                Envelope.kind == "reply",
            )
        )
    if row is None:
        raise NotFound()
    return row


def reply_envelope(reply_id: str) -> Response:
    """GET /reply/<id>.env: the reply's ciphertext, for the owner's browser to decrypt."""
    svc = services()
    try:
        row = _owned_reply(svc, reply_id)
        handle = svc.store.open(row.id)
    except (NotLoggedIn, UnknownEnvelope):
        raise NotFound() from None
    return send_file(handle, mimetype="application/octet-stream", conditional=False, etag=False)


def delete_reply(reply_id: str) -> BaseResponse:
    """POST /reply/<id>/delete: wipe the reply file and its row (owner only)."""
    svc = services()
    row = _owned_reply(svc, reply_id)
    with svc.database.session() as db, db.begin():
        stored = db.scalar(select(Envelope).where(Envelope.id == row.id))
        if stored is not None:
            db.delete(stored)
    svc.store.secure_delete(row.id)
    if wants_json():
        return jsonify({"ok": True})
    return redirect(url_for("reporter.inbox"), code=303)


def logout() -> BaseResponse:
    destroy_session(session)
    return redirect(url_for("reporter.intro"), code=303)
