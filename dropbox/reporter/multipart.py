"""Streaming multipart/form-data reader: the request body never sits whole in memory or on disk.

`read_multipart` reads `request.stream` a MiB at a time. Boundaries and part
headers are parsed by Werkzeug's sans-IO `MultipartDecoder` (fed 64 KiB
pieces); inside a part, a read that cannot contain a delimiter is handed to
the part's target directly, as views of the bytes read (the decoder would copy
every byte several times). Each part's bytes go to a target chosen by the caller
as soon as the part's headers are known: small text fields go to a bounded
in-memory buffer, files go straight into a sealer or an envelope file. The
byte limit is enforced on what is actually read, whatever Content-Length
claimed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.sansio.multipart import (
    Data,
    Epilogue,
    Field,
    File,
    MultipartDecoder,
    NeedData,
    State,
)

from dropbox.reporter.errors import BadUpload, TooLarge

READ_CHUNK = 1024 * 1024
FEED_CHUNK = 64 * 1024
KEEPALIVE_SECONDS = 60.0
# Bytes after a boundary that may still be arriving: "--", transport padding, CRLF.
_BOUNDARY_SUFFIX_ROOM = 72


class _Decoder(MultipartDecoder):
    """Werkzeug's decoder with a safe hold-back rule at the end of the buffer.

    Werkzeug 3.1.9 releases the CR of the CRLF before a boundary when a read
    ends inside the boundary's "--" suffix (e.g. the buffer is "\r\n--B-"),
    adding a stray byte to the part. Here we hold back everything from the
    earliest CR or LF within reach of a boundary and its suffix; holding back
    more than needed is always safe and stays bounded.
    """

    def _last_partial_boundary_index(self, data: bytes | bytearray) -> int:
        # A delimiter whose line is still arriving (RFC 2046 lets padding follow
        # it) must stay held back whole, or it would be released as data. More
        # padding than the room allows is refused: no browser sends any.
        line_start = data.rfind(b"\r\n--" + self.boundary)
        if line_start != -1:
            after = line_start + len(b"\r\n--") + len(self.boundary)
            suffix = bytes(data[after:after + _BOUNDARY_SUFFIX_ROOM + 1])
            if len(suffix) > _BOUNDARY_SUFFIX_ROOM and not suffix.lstrip(b"-").strip(b" \t"):
                raise BadUpload("a boundary line carries more padding than allowed")
        return self._hold_back_index(data)

    def _hold_back_index(self, data: bytes | bytearray) -> int:
        window = len(b"\r\n--") + len(self.boundary) + _BOUNDARY_SUFFIX_ROOM
        start = max(0, len(data) - window)
        cr = data.find(b"\r", start)
        lf = data.find(b"\n", start)
        candidates = [i for i in (cr, lf) if i != -1]
        return min(candidates) if candidates else len(data)

    def pass_through(self, chunk: bytes, target: PartTarget | None) -> bool:
        """Hand `chunk` to `target` without parsing it, when that is what parsing would do.

        Applies inside a part's data when neither `chunk` nor its junction
        with the held-back bytes contains `--boundary`: the decoder would then
        release everything up to its hold-back point as data, and so does
        this, as views of `chunk`, keeping the same tail held back. Returns
        False, having done nothing, when the decoder must parse `chunk`.
        """
        delimiter = b"--" + self.boundary
        if self.state is not State.DATA or target is None:
            return False
        window = len(b"\r\n--") + len(self.boundary) + _BOUNDARY_SUFFIX_ROOM
        if len(chunk) <= window or delimiter in chunk:
            return False
        held = bytes(self.buffer)
        if delimiter in held + chunk[: len(delimiter)]:
            return False
        # The hold-back window lies inside `chunk`, so the cut is where it
        # would be in the decoder's buffer (held + chunk), shifted by len(held).
        cut = self._hold_back_index(chunk)  # `chunk` holds no delimiter (checked above)
        if held:
            target.write(held)
        if cut:
            target.write(memoryview(chunk)[:cut])
        self.buffer[:] = chunk[cut:]
        return True


class ByteStream(Protocol):
    """Anything with a binary read(size), such as request.stream."""

    def read(self, size: int = -1, /) -> bytes: ...


class PartTarget(Protocol):
    """Where one part's bytes go; `data` (bytes, or a view of bytes read) never changes."""

    def write(self, data: bytes | memoryview) -> None: ...

    def finish(self) -> None: ...


@dataclass(frozen=True)
class PartInfo:
    name: str
    filename: str | None
    content_type: str


class FieldBuffer:
    """A small text field, kept in memory up to `limit` bytes; BadUpload beyond."""

    def __init__(self, name: str, limit: int) -> None:
        self.name = name
        self.limit = limit
        self._data = bytearray()
        self.complete = False

    def write(self, data: bytes | memoryview) -> None:
        if len(self._data) + len(data) > self.limit:
            raise BadUpload(f"the field {self.name!r} is longer than allowed")
        self._data.extend(data)

    def finish(self) -> None:
        self.complete = True

    def text(self) -> str:
        try:
            return self._data.decode("utf-8")
        except UnicodeDecodeError:
            raise BadUpload(f"the field {self.name!r} is not valid UTF-8") from None


def boundary_of(content_type: str | None, mimetype_params: dict[str, str]) -> bytes:
    """The multipart boundary of the request; BadUpload if it is not multipart/form-data."""
    if not content_type or not content_type.lower().startswith("multipart/form-data"):
        raise BadUpload("expected a multipart/form-data body")
    boundary = mimetype_params.get("boundary", "")
    if not boundary or len(boundary) > 200:
        raise BadUpload("the multipart body has no usable boundary")
    try:
        return boundary.encode("ascii")
    except UnicodeEncodeError:
        raise BadUpload("the multipart boundary is not ASCII") from None


def _dispatch(
    decoder: _Decoder, target: PartTarget | None, open_part: Callable[[PartInfo], PartTarget]
) -> tuple[PartTarget | None, bool]:
    """Hand every event the decoder has ready to its part; (current target, epilogue seen)."""
    try:
        event = decoder.next_event()
        while not isinstance(event, NeedData):
            if isinstance(event, Field | File):
                filename = event.filename if isinstance(event, File) else None
                info = PartInfo(
                    name=event.name or "",
                    filename=filename,
                    content_type=event.headers.get("content-type", ""),
                )
                target = open_part(info)
            elif isinstance(event, Data):
                if target is None:
                    raise BadUpload("the multipart body has data outside any part")
                if event.data:
                    target.write(event.data)
                if not event.more_data:
                    target.finish()
                    target = None
            elif isinstance(event, Epilogue):
                return target, True
            event = decoder.next_event()
    except RequestEntityTooLarge:
        raise BadUpload("the form has too many parts") from None
    except ValueError as error:
        raise BadUpload("the multipart body is malformed") from error
    return target, False


def read_multipart(
    stream: ByteStream,
    boundary: bytes,
    *,
    max_bytes: int,
    open_part: Callable[[PartInfo], PartTarget],
    keepalive: Callable[[], None] | None = None,
    max_parts: int = 64,
) -> None:
    """Read the whole body, dispatching each part to `open_part(info)`'s target.

    Raises TooLarge once more than `max_bytes` have been read, BadUpload for a
    malformed body, and whatever a target raises. Each target's `finish()` is
    called when its part ends; on an exception the caller cleans up its targets.
    """
    decoder = _Decoder(boundary, max_form_memory_size=None, max_parts=max_parts)
    received = 0
    target: PartTarget | None = None
    last_keepalive = time.monotonic()
    finished = False
    while not finished:
        chunk = stream.read(READ_CHUNK)
        received += len(chunk)
        if received > max_bytes:
            raise TooLarge()
        if keepalive is not None and time.monotonic() - last_keepalive > KEEPALIVE_SECONDS:
            keepalive()
            last_keepalive = time.monotonic()
        if decoder.pass_through(chunk, target):
            continue
        # Werkzeug's decoder is fastest fed 64 KiB at a time; the stream is
        # read a MiB at a time because gunicorn's reader copies its read-ahead
        # buffer on every call, so small reads cost a copy of up to a MiB each.
        pieces: list[bytes | None] = [chunk[i:i + FEED_CHUNK]
                                      for i in range(0, len(chunk), FEED_CHUNK)] or [None]
        for piece in pieces:
            decoder.receive_data(piece)
            target, finished = _dispatch(decoder, target, open_part)
            if finished:
                break
        if not chunk and not finished:
            raise BadUpload("the upload ended before the form was complete")
