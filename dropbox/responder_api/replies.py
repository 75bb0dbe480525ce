"""Replies: responders upload them (signed, streamed to disk), reporters' inboxes hold them.

A reply is accepted only if a responder in the keyring signed, with
`keys.sign_reply`, the envelope's SHA-256 together with this reporter's reply
key: the server cannot slip in a reply of its own, and a reply cannot be moved
to another reporter. The body is hashed while it streams into `tmp/`; nothing
reaches `envelopes/` before every check passed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re

from flask import Response, abort, jsonify, request
from sqlalchemy import select

import keys
from dropbox.db import Envelope, Reporter
from dropbox.responder_api.auth import check_streamed_body, unauthorized
from dropbox.responder_api.blueprint import ID_PATTERN, api
from dropbox.responder_api.context import context

MAX_REPLY_BYTES = 16 * 1024 * 1024
CHUNK = 64 * 1024
SIGNATURE_PATTERN = re.compile(r"[A-Za-z0-9+/]{86}==")


def _rejected(reason: str, status: int = 400) -> tuple[Response, int]:
    return jsonify(accepted=False, error=reason), status


def _signer(fingerprint: str) -> keys.ResponderPublicKey | None:
    wanted = "".join(fingerprint.split()).upper()
    for entry in context().keyring().entries:
        if "".join(entry.fingerprint.split()) == wanted:
            return entry.key
    return None


@api.post("/replies")
def upload_reply() -> Response | tuple[Response, int]:
    """Store one reply envelope (the body) for `reporter_id` under the id the responder chose.

    Query: reporter_id, id, signature (base64 Ed25519), responder (fingerprint).
    Answers 201 {accepted: true, id}, or 4xx {accepted: false, error}.
    """
    args = request.args
    reporter_id, reply_id = args.get("reporter_id", ""), args.get("id", "")
    signature_text, responder = args.get("signature", ""), args.get("responder", "")
    if not (ID_PATTERN.fullmatch(reporter_id) and ID_PATTERN.fullmatch(reply_id)
            and SIGNATURE_PATTERN.fullmatch(signature_text)):
        return _rejected("reporter_id, id and signature are required and well-formed")
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
                              base64.b64decode(signature_text, validate=True))
        except (keys.KeysError, binascii.Error):
            ctx.store.discard_temp(temp_path)
            return _rejected("the reply's signature does not verify for this reporter")
        with ctx.database.session() as session, session.begin():
            session.add(Envelope(id=reply_id, reporter_id=reporter_id, kind="reply",
                                 parent_id=None, size=size, emergency=False,
                                 signature=signature_text, responder=signer.fingerprint))
            session.flush()
            ctx.store.commit(temp_path, reply_id)
    except BaseException:
        ctx.store.discard_temp(temp_path)
        raise
    return jsonify(accepted=True, id=reply_id), 201


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
