"""Turning a received form into committed envelopes and database rows, or nothing at all.

Order of work: every ciphertext file is finished in tmp/, then all are
committed (fsync + rename), then one database transaction records them. If
anything fails the committed files are wiped and the transaction rolled
back, so the reporter either gets a codename for a complete report or a
"not saved" page with nothing left behind. Once these functions return, the
caller must never discard the batch (dropbox.reporter.submit).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from dropbox.db import Envelope, Reporter, today
from dropbox.reporter.errors import BadUpload, InboxGone, NotSaved
from dropbox.reporter.receive import ReceivedForm
from dropbox.reporter.sinks import HashingWriter, StoredPart, UploadBatch
from dropbox.services import Services
from keys import (
    AttachmentRef,
    FollowUp,
    KeyFormatError,
    Recipient,
    ReplyPublicKey,
    Report,
    Sealer,
    encode_message,
)


@dataclass(frozen=True)
class MessageParts:
    """The main envelope of a report/follow-up and its attachment envelopes."""

    main: StoredPart
    attachments: tuple[StoredPart, ...]
    emergency: bool


def seal_message(batch: UploadBatch, message: bytes, recipients: Sequence[Recipient]) -> StoredPart:
    """Seal an encoded message (held in memory only) into a new part of `batch`."""
    part, handle = batch.new_part()
    writer = HashingWriter(handle)
    with Sealer(writer, recipients) as sealer:
        sealer.write(message)
    batch.close_file(handle)
    part.size = writer.size
    part.sha256 = writer.hexdigest()
    return part


def attachment_refs(form: ReceivedForm) -> tuple[AttachmentRef, ...]:
    return tuple(
        AttachmentRef(
            name=target.name,
            size=target.plaintext_size,
            media_type=target.media_type,
            envelope_sha256=target.part.sha256,
        )
        for target in form.sealed
    )


def seal_plaintext_report(
    form: ReceivedForm,
    recipients: Sequence[Recipient],
    *,
    category: str,
    urgency: str,
    text: str,
    lang: str | None,
    reply_key: ReplyPublicKey,
) -> MessageParts:
    """Build the Report (with refs to the sealed attachments) and seal it last."""
    report = Report(
        category=category,
        urgency=urgency,  # type: ignore[arg-type]
        text=text,
        reply_key=reply_key,
        lang=lang,
        attachments=attachment_refs(form),
    )
    main = seal_message(form.batch, encode_message(report), recipients)
    return MessageParts(
        main=main,
        attachments=tuple(t.part for t in form.sealed),
        emergency=urgency == "emergency",
    )


def seal_plaintext_followup(
    form: ReceivedForm, recipients: Sequence[Recipient], text: str, emergency: bool
) -> MessageParts:
    followup = FollowUp(text=text, attachments=attachment_refs(form))
    main = seal_message(form.batch, encode_message(followup), recipients)
    return MessageParts(main, tuple(t.part for t in form.sealed), emergency)


def sealed_parts(form: ReceivedForm, main_fields: Sequence[str]) -> MessageParts:
    """The envelopes of a JS-on form: exactly one main envelope, any attachments."""
    mains = [t for name in main_fields for t in form.envelopes.get(name, [])]
    if len(mains) != 1:
        raise BadUpload("a sealed form needs exactly one message envelope")
    emergency_raw = form.fields.get("emergency", "0")
    if emergency_raw not in ("0", "1"):
        raise BadUpload("emergency must be 0 or 1")
    return MessageParts(
        main=mains[0].part,
        attachments=tuple(t.part for t in form.envelopes.get("attachment", [])),
        emergency=emergency_raw == "1",
    )


def parse_reply_key(text: str) -> ReplyPublicKey:
    try:
        return ReplyPublicKey.parse(text.strip())
    except KeyFormatError:
        raise BadUpload("reply_key is not a valid drop-reply key") from None


def _envelope_rows(reporter_id: str, kind: str, parts: MessageParts) -> list[Envelope]:
    day = today()
    rows = [
        Envelope(
            id=parts.main.envelope_id,
            reporter_id=reporter_id,
            kind=kind,
            size=parts.main.size,
            day=day,
            emergency=parts.emergency,
        )
    ]
    rows.extend(
        Envelope(
            id=part.envelope_id,
            reporter_id=reporter_id,
            kind="attachment",
            parent_id=parts.main.envelope_id,
            size=part.size,
            day=day,
            emergency=False,
        )
        for part in parts.attachments
    )
    return rows


def commit_new_reporter(
    services: Services, batch: UploadBatch, parts: MessageParts, login_hash: str, reply_key: str
) -> None:
    """Commit the files, then the Reporter and its envelopes in one transaction.

    Raises NotSaved (files wiped) if the disk or the database refuses, BadUpload
    if the login hash is already taken.
    """
    try:
        batch.commit()
        with services.database.session() as db, db.begin():
            reporter = Reporter(login_hash=login_hash, reply_key=reply_key)
            db.add(reporter)
            db.flush()
            db.add_all(_envelope_rows(reporter.id, "report", parts))
    except IntegrityError:
        batch.discard()
        raise BadUpload("this login secret is already in use") from None
    except (OSError, SQLAlchemyError) as error:
        batch.discard()
        raise NotSaved(type(error).__name__) from None


def commit_followup(
    services: Services, batch: UploadBatch, parts: MessageParts, reporter_id: str
) -> None:
    """Commit a follow-up's files and rows.

    Raises NotSaved (files wiped) on failure, InboxGone (files wiped) if the
    reporter's account was deleted meanwhile.
    """
    try:
        batch.commit()
        with services.database.session() as db, db.begin():
            reporter = db.get(Reporter, reporter_id)
            if reporter is None:
                raise InboxGone("the reporter was deleted meanwhile")
            reporter.last_active_day = today()
            db.add_all(_envelope_rows(reporter_id, "followup", parts))
    except InboxGone:
        batch.discard()
        raise
    except (OSError, SQLAlchemyError) as error:
        batch.discard()
        raise NotSaved(type(error).__name__) from None
