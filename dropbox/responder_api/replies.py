"""Replies: responders upload them (signed, streamed to disk), reporters' inboxes hold them.

A reply is accepted only if a responder in the keyring signed, with
`keys.sign_reply`, the envelope's SHA-256 together with this reporter's reply
key: the server cannot slip in a reply of its own, and a reply cannot be moved
to another reporter. The body is hashed while it streams into `tmp/`; nothing
reaches `envelopes/` before every check passed. An envelope the reporter
already holds is refused under any id (a replay; see reply_files for its limit).
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from pathlib import Path

from flask import Response, abort, jsonify, request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

import keys
from dropbox.db import Envelope, Reporter
from dropbox.responder_api.auth import check_streamed_body, unauthorized
from dropbox.responder_api.blueprint import ID_PATTERN, api
from dropbox.responder_api.context import context
from dropbox.responder_api.reply_files import held_copy, place_reply_file

MAX_REPLY_BYTES = 16 * 1024 * 1024
CHUNK = 64 * 1024
SIGNATURE_PATTERN = re.compile(r"[A-Za-z0-9+/]{86}==")


def _rejected(reason: str, status: int = 400) -> tuple[Response, int]:
    return jsonify(accepted=False, error=reason), status


def _signature_bytes(text: str) -> bytes | None:
    """The 64 signature bytes of `text` if it is canonical base64 (FORMAT.md §1), else None.

    A plain decoder also takes non-zero unused bits in the last character:
    one signature must have exactly one spelling, stored and served as sent.
    """
    if not SIGNATURE_PATTERN.fullmatch(text):
        return None
    raw = base64.b64decode(text, validate=True)
    return raw if base64.b64encode(raw).decode("ascii") == text else None


def _signer(fingerprint: str) -> keys.ResponderPublicKey | None:
    wanted = "".join(fingerprint.split()).upper()
    for entry in context().keyring().entries:
        if "".join(entry.fingerprint.split()) == wanted:
            return entry.key
    return None


@api.post("/replies")
def upload_reply() -> Response | tuple[Response, int]:
    """Store one reply envelope (the body) for `reporter_id` under the id the responder chose.

    Query: reporter_id, id, signature (canonical base64 Ed25519), responder (fingerprint).
    Answers 201 {accepted: true, id}, or 4xx/503 {accepted: false, error}
    (FORMAT.md §9); the §7 401 if the body is not the one the request signed.
    """
    args = request.args
    reporter_id, reply_id = args.get("reporter_id", ""), args.get("id", "")
    signature_text, responder = args.get("signature", ""), args.get("responder", "")
    if not (ID_PATTERN.fullmatch(reporter_id) and ID_PATTERN.fullmatch(reply_id)):
        return _rejected("reporter_id and id are required, each 32 lowercase hex digits")
    signature = _signature_bytes(signature_text)
    if signature is None:
        return _rejected("signature is required, as canonical base64 of 64 bytes "
                         "(FORMAT.md §1: unused bits zero, padding exact)")
    length = request.content_length
    if length is None or length > MAX_REPLY_BYTES:
        return _rejected(f"a reply must declare its length and be at most {MAX_REPLY_BYTES} "
                         "bytes", 413)
    signer = _signer(responder)
    if signer is None:
        return _rejected("the reply was signed by a responder who is not in the keyring")
    ctx = context()
    with ctx.database.session() as session:
        reporter = session.get(Reporter, reporter_id)
        if reporter is None:
            return _rejected("no such reporter (the account may have been deleted)", 404)
        if session.scalar(select(Envelope.id).where(Envelope.id == reply_id)) is not None:
            return _rejected("an envelope with this id already exists", 409)
        reply_key = reporter.reply_key
    temp_path, temp = ctx.store.new_temp()
    digest = hashlib.sha256()
    size = 0
    try:
        with temp:
            while chunk := request.stream.read(min(CHUNK, length - size)):
                digest.update(chunk)
                temp.write(chunk)
                size += len(chunk)
                if size >= length:
                    break
        if size != length:
            ctx.store.discard_temp(temp_path)
            return _rejected("the upload was cut short")
        if not check_streamed_body(digest.digest()):
            ctx.store.discard_temp(temp_path)
            return unauthorized()
        try:
            keys.verify_reply(signer, keys.ReplyPublicKey.parse(reply_key), digest.digest(),
                              signature)
        except keys.KeysError:
            ctx.store.discard_temp(temp_path)
            return _rejected("the reply's signature does not verify for this reporter")
        refusal = _store_reply(reply_id, reporter_id, size, digest.digest(), temp_path,
                               signature_text, signer.fingerprint)
    except BaseException:
        ctx.store.discard_temp(temp_path)
        raise
    if refusal is not None:
        ctx.store.discard_temp(temp_path)
        return refusal
    return jsonify(accepted=True, id=reply_id), 201


class _Refused(Exception):
    """Roll the reply's row back and answer with `answer`."""

    def __init__(self, answer: tuple[Response, int]) -> None:
        super().__init__("reply refused")
        self.answer = answer


def _store_reply(reply_id: str, reporter_id: str, size: int, sha256: bytes, temp_path: Path,
                 signature_text: str, fingerprint: str) -> tuple[Response, int] | None:
    """Add the reply's row and put its file in place, both or neither; None if stored.

    The row is flushed before the file is renamed, so a racing push of the same
    id fails on the row; a file left by an earlier push whose row was lost is
    adopted if it holds the same bytes (see reply_files).
    """
    ctx = context()
    # Keep the file locked until its row is committed: a purge between the rename
    # and the commit must not take it for an orphan (it skips locked files).
    lease = ctx.store.take_lease(temp_path)
    try:
        with ctx.database.session() as session, session.begin():
            held = held_copy(session, ctx.store, reporter_id, size, sha256)
            if held is not None:
                raise _Refused(_rejected(
                    f"this reporter already holds this reply envelope (as {held}); "
                    "an envelope is delivered once", 409))
            session.add(Envelope(id=reply_id, reporter_id=reporter_id, kind="reply",
                                 parent_id=None, size=size, emergency=False,
                                 signature=signature_text, responder=fingerprint))
            session.flush()
            if not place_reply_file(ctx.store, temp_path, reply_id, sha256):
                raise _Refused(_rejected(
                    "a leftover file from an interrupted operation holds this reply id with "
                    "other bytes; `dropbox purge` removes it (after an hour), then push again",
                    503))
    except _Refused as refused:
        return refused.answer
    except IntegrityError:
        # A racing request took the id, or deleted the reporter, after the checks above.
        with ctx.database.session() as session:
            if session.get(Reporter, reporter_id) is None:
                return _rejected("no such reporter (the account may have been deleted)", 404)
        return _rejected("an envelope with this id already exists", 409)
    finally:
        if lease is not None:
            os.close(lease)
    return None


@api.get("/replies/<reporter_id>")
def reporter_replies(reporter_id: str) -> Response:
    """The replies this reporter still has on the server (they delete them once read)."""
    if not ID_PATTERN.fullmatch(reporter_id):
        abort(404)
    with context().database.session() as session:
        if session.get(Reporter, reporter_id) is None:
            abort(404)
        rows = session.scalars(select(Envelope).where(
            Envelope.reporter_id == reporter_id, Envelope.kind == "reply")
            .order_by(Envelope.seq)).all()
    return jsonify(reporter_id=reporter_id, replies=[
        {"id": r.id, "day": r.day.isoformat(), "size": r.size, "responder": r.responder}
        for r in rows])
