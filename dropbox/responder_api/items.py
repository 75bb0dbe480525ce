"""Listing, downloading and deleting envelopes; counts; the public keyring.

Deletion removes the database rows first and then overwrites and unlinks the
files: a crash in between leaves an unreferenced ciphertext file (removed by
`dropbox purge`), never a row that points at nothing.
"""

from __future__ import annotations

import os
import re
from typing import Any

from flask import Response, abort, jsonify, request, send_file
from sqlalchemy import ColumnElement, delete, func, select

from dropbox.db import Envelope, Reporter
from dropbox.responder_api.blueprint import ID_PATTERN, api
from dropbox.responder_api.context import context
from dropbox.storage import UnknownEnvelope

MAX_PAGE = 1000
DEFAULT_PAGE = 200
MESSAGE_KINDS = ("report", "followup")
_CURSOR = re.compile(r"[0-9]{1,18}")
# `seq` is a 32-bit INTEGER on PostgreSQL, which refuses a larger literal; no
# seq exceeds it, so "after" anything larger means what "after" this means.
_SEQ_CEILING = 2**31 - 1


def _cursor_arg(name: str) -> int:
    """The query argument `name` (default 0) as an int; 400 unless 1 to 18 ASCII digits.

    `str.isdigit` would also take "²" or Arabic-Indic digits, which `int` refuses
    or silently reads: only the §9 spelling is accepted.
    """
    raw = request.args.get(name, "0")
    if not _CURSOR.fullmatch(raw):
        abort(400)
    return int(raw)


def _seq_after(after: int) -> ColumnElement[bool]:
    """The condition `seq > after`, for any cursor `_cursor_arg` accepts."""
    return Envelope.seq > min(after, _SEQ_CEILING)


def envelope_json(envelope: Envelope, reply_key: str | None) -> dict[str, Any]:
    return {
        "seq": envelope.seq, "id": envelope.id, "kind": envelope.kind,
        "reporter_id": envelope.reporter_id, "parent_id": envelope.parent_id,
        "size": envelope.size, "day": envelope.day.isoformat(),
        "emergency": bool(envelope.emergency),
        "reply_key": reply_key if envelope.kind in MESSAGE_KINDS else None,
        "signature": envelope.signature, "responder": envelope.responder,
    }


@api.get("/items")
def list_items() -> Response:
    """New envelopes after the cursor `after`, oldest first, at most `limit`."""
    after = _cursor_arg("after")
    limit = min(max(_cursor_arg("limit") or DEFAULT_PAGE, 1), MAX_PAGE)
    with context().database.session() as session:
        rows = session.execute(
            select(Envelope, Reporter.reply_key)
            .join(Reporter, Reporter.id == Envelope.reporter_id)
            .where(_seq_after(after)).order_by(Envelope.seq).limit(limit + 1)).all()
    page = rows[:limit]
    return jsonify(items=[envelope_json(env, key) for env, key in page],
                   next_after=page[-1][0].seq if page else after,
                   more=len(rows) > limit)


@api.get("/items/<item_id>")
def download_item(item_id: str) -> Response:
    """The envelope's ciphertext, streamed from disk."""
    if not ID_PATTERN.fullmatch(item_id):
        abort(404)
    ctx = context()
    with ctx.database.session() as session:
        envelope = session.scalar(select(Envelope).where(Envelope.id == item_id))
    if envelope is None:
        abort(404)
    try:
        handle = ctx.store.open(item_id)
    except UnknownEnvelope:
        abort(404)
    response = send_file(handle, mimetype="application/octet-stream", conditional=False,
                         etag=False, max_age=0)
    response.headers["Content-Length"] = str(os.fstat(handle.fileno()).st_size)
    return response


@api.get("/counts")
def counts() -> Response:
    """How many reports and follow-ups (and emergencies among them) came after `after`."""
    after = _cursor_arg("after")
    with context().database.session() as session:
        base = (select(func.count()).select_from(Envelope)
                .where(_seq_after(after), Envelope.kind.in_(MESSAGE_KINDS)))
        new = session.scalar(base) or 0
        emergencies = session.scalar(base.where(Envelope.emergency.is_(True))) or 0
        latest = session.scalar(select(func.max(Envelope.seq))) or 0
    return jsonify(new=new, emergency=emergencies, latest=latest)


def _delete_envelopes(ids: list[str]) -> None:
    store = context().store
    for envelope_id in ids:
        store.secure_delete(envelope_id)


@api.post("/items/<item_id>/delete")
def delete_item(item_id: str) -> Response:
    """Delete an envelope and the attachments under it: rows, then files."""
    if not ID_PATTERN.fullmatch(item_id):
        abort(404)
    with context().database.session() as session, session.begin():
        ids = list(session.scalars(select(Envelope.id).where(
            (Envelope.id == item_id) | (Envelope.parent_id == item_id))))
        if item_id not in ids:
            abort(404)
        session.execute(delete(Envelope).where(Envelope.id.in_(ids)))
    _delete_envelopes(ids)
    return jsonify(deleted=sorted(ids))


@api.post("/reporters/<reporter_id>/delete")
def delete_reporter(reporter_id: str) -> Response:
    """Delete a reporter's account and every envelope of theirs, replies included."""
    if not ID_PATTERN.fullmatch(reporter_id):
        abort(404)
    with context().database.session() as session, session.begin():
        if session.get(Reporter, reporter_id) is None:
            abort(404)
        ids = list(session.scalars(select(Envelope.id)
                                   .where(Envelope.reporter_id == reporter_id)))
        session.execute(delete(Envelope).where(Envelope.reporter_id == reporter_id))
        session.execute(delete(Reporter).where(Reporter.id == reporter_id))
    _delete_envelopes(ids)
    return jsonify(deleted=sorted(ids), reporter=reporter_id)


@api.get("/keyring")
def keyring() -> Response:
    """The responders' public keys the drop encrypts to (public information)."""
    return jsonify(keyring=[{"name": e.name, "public_key": str(e.key)}
                            for e in context().keyring().entries])
