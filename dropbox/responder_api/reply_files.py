"""Where a verified reply's ciphertext goes: duplicates, replays and leftover files.

Two cases need more than "rename the temp file into `envelopes/`":

- A file with the reply's id may already be in `envelopes/` with no row: a
  crash between row deletion and wipe, or a database commit that failed after
  the rename. If it holds exactly the bytes being pushed, the push completes
  by adding the row; if it holds other bytes, the id is refused until `dropbox
  purge` removes the leftover.
- The same signed envelope pushed again under a fresh id (a replay: the reply
  signature covers only the reply key and the envelope's hash, FORMAT.md §6.2).
  Refused while this reporter still holds it; once the reporter deleted it, no
  trace is kept, so a replay cannot be told from a new reply (THREAT_MODEL.md).
"""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from dropbox.db import Envelope
from dropbox.storage import EnvelopeStore, StorageError, UnknownEnvelope

_READ_BLOCK = 1 << 20


def stored_sha256(store: EnvelopeStore, envelope_id: str) -> bytes | None:
    """The SHA-256 of envelope file `envelope_id`, or None if there is no such file."""
    digest = hashlib.sha256()
    try:
        with store.open(envelope_id) as handle:
            while block := handle.read(_READ_BLOCK):
                digest.update(block)
    except UnknownEnvelope:
        return None
    return digest.digest()


def held_copy(session: Session, store: EnvelopeStore, reporter_id: str, size: int,
              sha256: bytes) -> str | None:
    """The id of a reply this reporter holds whose envelope has hash `sha256`, or None.

    Only replies of the same size are hashed, so the usual cost is one query.
    """
    candidates = session.scalars(select(Envelope.id).where(
        Envelope.reporter_id == reporter_id, Envelope.kind == "reply",
        Envelope.size == size)).all()
    for reply_id in candidates:
        held = stored_sha256(store, reply_id)
        if held is not None and hmac.compare_digest(held, sha256):
            return reply_id
    return None


def place_reply_file(store: EnvelopeStore, temp_path: Path, reply_id: str,
                     sha256: bytes) -> bool:
    """Make `envelopes/<reply_id>` hold the closed temp file's bytes (hash `sha256`).

    True if it does: the temp file was renamed there, or an identical file was
    already there (the temp file is then wiped). False if a different file holds
    the id; the temp file is left for the caller. Raises OSError if the disk refuses.
    """
    try:
        store.commit(temp_path, reply_id)
        return True
    except UnknownEnvelope:
        raise
    except StorageError:
        existing = stored_sha256(store, reply_id)
        if existing is None or not hmac.compare_digest(existing, sha256):
            return False
    store.discard_temp(temp_path)
    return True
