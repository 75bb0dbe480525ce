"""Receiving an upload form from the stream: fields in memory, files sealed or checked on disk.

Rules enforced while the body streams in, before any file byte is accepted:
the CSRF token and `mode` must come before the first file part (browsers send
parts in document order; the page JS appends them first), the honeypot must be
empty, JS-off forms may only carry `attachments` files and JS-on forms only
envelope parts. Whatever goes wrong, the caller discards the batch and
nothing of the request remains on disk.

Once the token is valid the caller's `on_token_valid` runs (it takes a
sealing-gate slot), so a client without a token holds no shared slot. While
the body streams, the connection's socket gets a read timeout: a client that
sends nothing for `idle_seconds` gets UploadStalled, and so does one that
falls below the pace floor (request_pace.py).
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field

from flask import request
from flask_wtf.csrf import ValidationError, validate_csrf
from werkzeug.exceptions import ClientDisconnected

from dropbox.reporter.errors import BadUpload, CsrfFailed, NotAccepting, TooLarge, UploadStalled
from dropbox.reporter.forms import FIELD_LIMITS, clean_filename
from dropbox.reporter.multipart import (
    FieldBuffer,
    PartInfo,
    PartTarget,
    boundary_of,
    read_multipart,
)
from dropbox.reporter.sinks import EnvelopeTarget, SealingTarget, UploadBatch, clean_media_type
from dropbox.request_pace import ENVIRON_KEY, PaceWatch, WatchedRequest, request_socket
from keys import Recipient

# Room for the form's own bytes (boundaries, headers, text fields) on top of the files.
FORM_OVERHEAD_BYTES = 2 * 1024 * 1024
SEALED_MODE = "sealed"


class EmptyFilePart:
    """The part a browser sends for a file input left empty; it must carry no bytes."""

    def write(self, data: bytes | memoryview) -> None:
        raise BadUpload("a file part without a file name carried data")

    def finish(self) -> None:
        return None


@dataclass
class ReceivedForm:
    """What one upload request carried, once fully read."""

    batch: UploadBatch
    fields: dict[str, str] = field(default_factory=dict)
    sealed: list[SealingTarget] = field(default_factory=list)
    envelopes: dict[str, list[EnvelopeTarget]] = field(default_factory=dict)
    # A file was offered (JS off), whether or not it was accepted.
    files_offered: bool = False
    # Files and rows are committed: from here on nothing may be discarded.
    saved: bool = False

    @property
    def sealed_mode(self) -> bool:
        return self.fields.get("mode") == SEALED_MODE


def wants_json() -> bool:
    """True for the page JS's requests (sealed mode announces itself in the Accept header)."""
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes[
        "text/html"
    ]


class _FormReader:
    def __init__(
        self,
        form: ReceivedForm,
        recipients: Sequence[Recipient],
        envelope_fields: frozenset[str],
        text_limit_bytes: int,
        max_files: int,
        on_token_valid: Callable[[], object],
    ) -> None:
        self.form = form
        self.on_token_valid = on_token_valid
        self.recipients = recipients
        self.envelope_fields = envelope_fields
        self.text_limit_bytes = text_limit_bytes
        self.max_files = max_files
        self.buffers: dict[str, FieldBuffer] = {}
        self.csrf_checked = False
        self.files = 0

    def collect(self) -> None:
        for name, buffer in self.buffers.items():
            if not buffer.complete:
                raise BadUpload(f"the field {name!r} was cut short")
            self.form.fields[name] = buffer.text()

    def check_before_files(self) -> None:
        """CSRF, honeypot: checked once, before the first file part is accepted."""
        if self.csrf_checked:
            return
        self.collect()
        try:
            validate_csrf(self.form.fields.get("csrf_token", ""))
        except ValidationError:
            raise CsrfFailed() from None
        if self.form.fields.get("website", ""):
            raise BadUpload("the honeypot field was filled in")
        self.csrf_checked = True
        self.on_token_valid()

    def open_part(self, info: PartInfo) -> PartTarget:
        limit = self.text_limit_bytes if info.name == "text" else FIELD_LIMITS.get(info.name)
        if limit is not None and info.filename is None:
            if info.name in self.buffers:
                raise BadUpload(f"the field {info.name!r} was sent twice")
            buffer = FieldBuffer(info.name, limit)
            self.buffers[info.name] = buffer
            return buffer
        if info.name == "attachments" and info.filename is not None:
            return self._plaintext_file(info)
        if info.name in self.envelope_fields:
            return self._envelope(info)
        raise BadUpload(f"unexpected form part {info.name[:40]!r}")

    def _count_file(self) -> None:
        self.files += 1
        if self.files > self.max_files:
            raise TooLarge("too many files")

    def _plaintext_file(self, info: PartInfo) -> PartTarget:
        self.form.files_offered = self.form.files_offered or bool(info.filename)
        self.check_before_files()
        if self.form.sealed_mode:
            raise BadUpload("a sealed form must not carry plaintext files")
        if not info.filename:
            return EmptyFilePart()
        if not self.recipients:
            raise NotAccepting()
        self._count_file()
        target = SealingTarget(
            self.form.batch,
            self.recipients,
            clean_filename(info.filename),
            clean_media_type(info.content_type),
        )
        self.form.sealed.append(target)
        return target

    def _envelope(self, info: PartInfo) -> PartTarget:
        self.check_before_files()
        if not self.form.sealed_mode:
            raise BadUpload("envelopes are only accepted with mode=sealed")
        if info.name == "attachment":
            self._count_file()
        elif self.form.envelopes:
            if any(name != "attachment" for name in self.form.envelopes):
                raise BadUpload("a sealed form carries one message envelope")
        target = EnvelopeTarget(self.form.batch, info.name)
        self.form.envelopes.setdefault(info.name, []).append(target)
        return target


@contextmanager
def _deadlines(idle_seconds: float | None, pace: PaceWatch | None) -> Iterator[None]:
    """Cut this request's body when it sends nothing for `idle_seconds` (a read timeout
    on the socket) or falls below `pace`'s floor; either raises UploadStalled.

    Works on the connection's socket (gunicorn's or Werkzeug's); HTTP/2 shares
    one socket between streams, and the test client has none: no deadline there.
    On a stall, the socket's read side is shut so that gunicorn does not wait
    for the rest of the body on that connection either.
    """
    environ = request.environ
    sock = request_socket(environ)
    if sock is None:
        yield
        return
    previous = sock.gettimeout()
    if idle_seconds:
        sock.settimeout(idle_seconds)
    # The app's middleware already watches this request (PacedRequests): one watch, so
    # that the cut it makes is the one this function recognises.
    outer: WatchedRequest | None = environ.get(ENVIRON_KEY)
    own = pace if pace is not None and outer is None else None
    watched: WatchedRequest | None = outer
    try:
        with own.watching(sock) if own is not None else nullcontext(outer) as watched:
            yield
    except Exception as error:
        # The pace watch shut the read side: whatever the early end looked like (a short
        # body, or gunicorn's own NoMoreData / ChunkMissingTerminator inside a chunk).
        behind = watched is not None and watched.fell_behind
        # Werkzeug's stream reports the socket's timeout as a disconnect.
        timed_out = isinstance(error, TimeoutError) or (
            isinstance(error, ClientDisconnected) and isinstance(error.__context__, TimeoutError))
        if not (behind or timed_out):
            raise
        try:
            sock.shutdown(socket.SHUT_RD)
        except OSError:
            pass
        raise UploadStalled() from None
    finally:
        sock.settimeout(previous)


def receive_form(
    form: ReceivedForm,
    *,
    recipients: Sequence[Recipient],
    max_upload_bytes: int,
    max_text_chars: int,
    max_files: int,
    envelope_fields: frozenset[str],
    keepalive: Callable[[], None],
    on_token_valid: Callable[[], object] = lambda: None,
    idle_seconds: float | None = None,
    pace: PaceWatch | None = None,
) -> None:
    """Read the current request's multipart body into `batch` (see module docstring).

    Raises TooLarge (Content-Length or bytes actually read above the limit),
    CsrfFailed, BadUpload, NotAccepting, UploadStalled (nothing arrived for
    `idle_seconds`, or the body fell below `pace`'s floor), whatever
    `on_token_valid` raises (Busy) and OSError. The caller discards
    `form.batch` on any exception; `form.fields` holds what was read so far
    (so the caller knows whether to answer in JSON).
    """
    limit = max_upload_bytes + FORM_OVERHEAD_BYTES
    if request.content_length is not None and request.content_length > limit:
        raise TooLarge("Content-Length above the limit")
    boundary = boundary_of(request.content_type, request.mimetype_params)
    reader = _FormReader(
        form, recipients, envelope_fields, max_text_chars * 4, max_files, on_token_valid
    )
    with _deadlines(idle_seconds, pace):
        read_multipart(
            request.stream,
            boundary,
            max_bytes=limit,
            open_part=reader.open_part,
            keepalive=keepalive,
            max_parts=max_files + len(FIELD_LIMITS) + 8,
        )
    reader.collect()
    reader.check_before_files()
