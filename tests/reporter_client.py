"""A scripted reporter over HTTP: JS-off forms and JS-on sealed envelopes, bodies streamed.

Used by the reliability tests and by `python -m bench`. Bodies are produced on
the fly (never whole in memory), so hundreds of megabytes can be sent; an
`on_progress` callback sees how many payload bytes have left, which lets a test
kill the server at a chosen point of an upload.
"""

from __future__ import annotations

import hashlib
import io
import re
import secrets
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import requests

from keys import (
    AttachmentRef,
    Recipient,
    Report,
    derive_codename,
    encode_message,
    encrypt,
    generate_codename,
)

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
CODENAME_RE = re.compile(r'<output id="codename-value" class="codename">([^<]+)</output>')
BLOCK = 64 * 1024


def pattern_block(marker: str) -> bytes:
    """A 64 KiB block made of `marker` lines: plaintext a scanner can recognise anywhere."""
    line = (marker + "\n").encode()
    return (line * (BLOCK // len(line) + 1))[:BLOCK]


class StreamedMultipart:
    """A multipart body read on the fly: text fields, then file parts of repeated blocks."""

    def __init__(
        self,
        fields: Sequence[tuple[str, str]],
        files: Sequence[tuple[str, str, bytes, int]],
        on_progress: Callable[[int], None] | None = None,
    ) -> None:
        self.boundary = "drop-" + secrets.token_hex(12)
        self._fields, self._files = fields, files
        self.on_progress = on_progress
        self.sent_payload = 0
        self.file_sha256: list[str] = []
        self._iterator = self._chunks()
        self._length = sum(len(c) for c in self._headers()) + sum(f[3] for f in files)

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    def _headers(self) -> Iterator[bytes]:
        for name, value in self._fields:
            yield (f'--{self.boundary}\r\nContent-Disposition: form-data; name="{name}"'
                   f"\r\n\r\n{value}\r\n").encode()
        for name, filename, _block, _size in self._files:
            yield (f'--{self.boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                   f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'
                   ).encode()
            yield b"\r\n"
        yield f"--{self.boundary}--\r\n".encode()

    def _chunks(self) -> Iterator[bytes]:
        headers = list(self._headers())
        yield b"".join(headers[: len(self._fields)])
        position = len(self._fields)
        for _name, _filename, block, size in self._files:
            yield headers[position]
            digest, left = hashlib.sha256(), size
            while left > 0:
                chunk = block[: min(len(block), left)]
                digest.update(chunk)
                left -= len(chunk)
                self.sent_payload += len(chunk)
                if self.on_progress is not None:
                    self.on_progress(self.sent_payload)
                yield chunk
            self.file_sha256.append(digest.hexdigest())
            yield headers[position + 1]
            position += 2
        yield headers[-1]

    def __len__(self) -> int:
        return self._length

    def read(self, _amount: int = -1) -> bytes:
        return next(self._iterator, b"")


def fetch_csrf(session: requests.Session, url: str) -> str:
    """GET /submit and return the form's CSRF token (the session keeps the cookie)."""
    page = session.get(f"{url}/submit", timeout=60)
    page.raise_for_status()
    found = CSRF_RE.search(page.text)
    if not found:
        raise AssertionError("no csrf_token on /submit")
    return found.group(1)


@dataclass
class Outcome:
    """What one submission got back; `acknowledged` means the reporter was told it was saved."""

    status: int
    acknowledged: bool
    text: str
    codename: str = ""


def submit_js_off(
    session: requests.Session,
    url: str,
    text: str,
    attachments: Sequence[tuple[bytes, int]] = (),
    on_progress: Callable[[int], None] | None = None,
    timeout: float = 600,
) -> tuple[Outcome, StreamedMultipart]:
    """A JS-off report (plaintext form, sealed by the server); each attachment is (block, size)."""
    token = fetch_csrf(session, url)
    body = StreamedMultipart(
        [("csrf_token", token), ("website", ""), ("category", "threats"),
         ("urgency", "urgent"), ("text", text), ("lang", "")],
        [("attachments", f"file{i}.bin", block, size)
         for i, (block, size) in enumerate(attachments)],
        on_progress,
    )
    response = session.post(
        f"{url}/submit", data=body, headers={"Content-Type": body.content_type}, timeout=timeout
    )
    codename = CODENAME_RE.search(response.text)
    ok = response.status_code == 200 and codename is not None
    return Outcome(response.status_code, ok, response.text,
                   codename.group(1) if codename else ""), body


def seal_bytes(data: bytes, recipients: Sequence[Recipient]) -> bytes:
    out = io.BytesIO()
    encrypt(io.BytesIO(data), out, recipients)
    return out.getvalue()


def submit_js_on(
    session: requests.Session,
    url: str,
    recipients: Sequence[Recipient],
    text: str,
    attachment: bytes | None = None,
    timeout: float = 600,
) -> Outcome:
    """A JS-on report: envelopes sealed here as the browser seals them, posted as mode=sealed."""
    token = fetch_csrf(session, url)
    codename = generate_codename()
    derived = derive_codename(codename)
    refs: tuple[AttachmentRef, ...] = ()
    files: list[tuple[str, str, bytes, int]] = []
    if attachment is not None:
        sealed_attachment = seal_bytes(attachment, recipients)
        refs = (AttachmentRef("a.bin", len(attachment), "application/octet-stream",
                              hashlib.sha256(sealed_attachment).hexdigest()),)
    report = Report(category="threats", urgency="urgent", text=text,
                    reply_key=derived.reply.public, attachments=refs)
    files.append(("report", "blob", seal_bytes(encode_message(report), recipients), 0))
    if attachment is not None:
        files.append(("attachment", "blob", sealed_attachment, 0))
    body = StreamedMultipart(
        [("csrf_token", token), ("mode", "sealed"), ("reply_key", str(derived.reply.public)),
         ("login_secret", derived.login_secret.hex()), ("emergency", "0")],
        [(name, filename, data, len(data)) for name, filename, data, _ in files],
    )
    response = session.post(
        f"{url}/submit", data=body, timeout=timeout,
        headers={"Content-Type": body.content_type, "Accept": "application/json"},
    )
    ok = response.status_code == 200 and response.headers.get("Content-Type", "").startswith(
        "application/json") and response.json().get("ok") is True
    return Outcome(response.status_code, ok, response.text, codename if ok else "")
