"""Where uploaded parts go: sealed on the fly (JS off) or checked and stored (JS on).

Every part becomes a ciphertext temp file in `instance/tmp/`. An `UploadBatch`
tracks them so that a failed request leaves nothing behind, and commits them
(fsync + rename into `envelopes/`) only when the whole request succeeded.

Each part stays leased (flock, see dropbox.storage) for as long as its batch
lives: through an upload of hours, through the rename, and through the
database commit that the caller does after `commit()`. So neither temp cleanup
nor the orphan wipe of `dropbox purge` can take a part of a live request. The
leases end when the batch is discarded or garbage-collected (the request's end).
"""

from __future__ import annotations

import hashlib
import os
import re
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from dropbox.db import new_id
from dropbox.reporter.errors import BadUpload
from dropbox.storage import EnvelopeStore
from keys import HeaderError, Recipient, Sealer
from keys.envelope import envelope_recipient_count

_FIXED_HEADER = 9  # magic(7) version(1) count(1)
_STANZA = 80
_MAC = 32
_MIN_PAYLOAD = 24 + 17
_MEDIA_TYPE_RE = re.compile(r"\A[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}\Z")


def clean_media_type(content_type: str) -> str:
    """The part's media type if it is a plain `type/subtype`, else application/octet-stream."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type if _MEDIA_TYPE_RE.match(media_type) else "application/octet-stream"


class HashingWriter:
    """Writes through to a file while counting bytes and hashing them (SHA-256)."""

    def __init__(self, file: BinaryIO) -> None:
        self.file = file
        self.size = 0
        self._hash = hashlib.sha256()

    def write(self, data: bytes | memoryview) -> int:
        self.file.write(data)
        self._hash.update(data)
        self.size += len(data)
        return len(data)

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


@dataclass
class StoredPart:
    """One ciphertext file in tmp/, waiting for the request to succeed."""

    temp_path: Path
    envelope_id: str = field(default_factory=new_id)
    size: int = 0
    sha256: str = ""
    committed: bool = False


class UploadBatch:
    """The temp files of one request: all committed together, or all removed."""

    def __init__(self, store: EnvelopeStore) -> None:
        self.store = store
        self.parts: list[StoredPart] = []
        self._open_files: list[BinaryIO] = []
        self._leases: list[int] = []
        # The request's end: filing commits the rows after commit(), and no hook
        # of ours runs then, so the leases go when the batch itself goes.
        self._release_leases = weakref.finalize(self, _close_all, self._leases)

    def new_part(self) -> tuple[StoredPart, BinaryIO]:
        path, handle = self.store.new_temp()
        part = StoredPart(temp_path=path)
        lease = self.store.take_lease(path)
        if lease is not None:
            self._leases.append(lease)
        self.parts.append(part)
        self._open_files.append(handle)
        return part, handle

    def close_file(self, handle: BinaryIO) -> None:
        handle.flush()
        handle.close()
        if handle in self._open_files:
            self._open_files.remove(handle)

    def commit(self) -> None:
        """Move every part into envelopes/ (fsynced), still leased.

        Raises OSError; call discard() then.
        """
        for part in self.parts:
            self.store.commit(part.temp_path, part.envelope_id)
            part.committed = True

    def release(self) -> None:
        """End every part's lease now (idempotent; otherwise done when the batch is collected)."""
        self._release_leases()

    def discard(self) -> None:
        """Remove every file of this batch, committed or not. Never raises OSError."""
        for handle in self._open_files:
            try:
                handle.close()
            except OSError:
                pass
        self._open_files.clear()
        for part in self.parts:
            try:
                if part.committed:
                    self.store.secure_delete(part.envelope_id)
                else:
                    self.store.discard_temp(part.temp_path)
            except OSError:
                continue
        self.release()


def _close_all(leases: list[int]) -> None:
    while leases:
        os.close(leases.pop())


class SealingTarget:
    """A file part of a plaintext (JS-off) form, sealed to the recipients as it streams."""

    def __init__(
        self, batch: UploadBatch, recipients: Sequence[Recipient], name: str, media_type: str
    ) -> None:
        self.batch = batch
        self.name = name
        self.media_type = media_type
        self.plaintext_size = 0
        self.part, self._file = batch.new_part()
        self._writer = HashingWriter(self._file)
        self._sealer = Sealer(self._writer, recipients)

    def write(self, data: bytes | memoryview) -> None:
        self.plaintext_size += len(data)
        self._sealer.write(data)

    def finish(self) -> None:
        self._sealer.close()
        self.batch.close_file(self._file)
        self.part.size = self._writer.size
        self.part.sha256 = self._writer.hexdigest()


class EnvelopeTarget:
    """An envelope sealed in the browser (JS on): its header is checked as it arrives.

    Raises BadUpload as soon as the magic, version or recipient count is wrong,
    and at the end if the envelope is shorter than its header plus the
    smallest payload.
    """

    def __init__(self, batch: UploadBatch, field_name: str) -> None:
        self.batch = batch
        self.field_name = field_name
        self.part, self._file = batch.new_part()
        self._writer = HashingWriter(self._file)
        self._head = bytearray()
        self._header_len: int | None = None

    def write(self, data: bytes | memoryview) -> None:
        if self._header_len is None:
            self._head.extend(data[: _FIXED_HEADER - len(self._head)])
            if len(self._head) >= _FIXED_HEADER:
                try:
                    count = envelope_recipient_count(bytes(self._head))
                except HeaderError as error:
                    raise BadUpload(f"{self.field_name}: {error}") from None
                self._header_len = _FIXED_HEADER + count * _STANZA + _MAC
        self._writer.write(data)

    def finish(self) -> None:
        self.batch.close_file(self._file)
        minimum = (self._header_len or _FIXED_HEADER + _STANZA + _MAC) + _MIN_PAYLOAD
        if self._header_len is None or self._writer.size < minimum:
            raise BadUpload(f"{self.field_name}: the envelope is cut short")
        self.part.size = self._writer.size
        self.part.sha256 = self._writer.hexdigest()
