"""The reporter app under real gunicorn: a ~50 MB JS-off upload streams through bounded memory.

The attachment is streamed by `requests` from a generator-backed body (never
whole in the test's memory either); the workers' RSS is sampled throughout. A
worker that buffered the file would grow by 50 MB; ours must stay within a
small margin of what a tiny report costs (which includes Argon2id's 32 MiB).
Afterwards no plaintext is in the instance, runtime or temp dirs, the logs or
(on PostgreSQL) a dump of the database, rows and envelope files match, and the
stored attachment decrypts to exactly what was sent. Runs on both stores.
"""

from __future__ import annotations

import hashlib
import io
import re
import secrets
import threading
from pathlib import Path

import psutil  # type: ignore[import-untyped]
import requests
from sqlalchemy import create_engine, select

from dropbox.db import Envelope
from keys import Report, decode_message, decrypt
from tests.integration.conftest import RunningReporter
from tests.plaintext_scan import assert_no_plaintext

MiB = 1024 * 1024
ATTACHMENT_BYTES = 50 * 1000 * 1000
# Headroom over a tiny report's peak: chunk buffers and allocator noise, far below 50 MB.
RSS_MARGIN = 25 * MiB
_CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
_CODENAME_RE = re.compile(r'<output id="codename-value" class="codename">([^<]+)</output>')


class StreamedForm:
    """A multipart body produced on the fly: fields, then `size` bytes of a repeated block."""

    def __init__(self, boundary: str, fields: list[tuple[str, str]], block: bytes, size: int):
        head = b"".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
            .encode() for name, value in fields
        )
        head += (
            f'--{boundary}\r\nContent-Disposition: form-data; name="attachments"; '
            f'filename="evidence.txt"\r\nContent-Type: text/plain\r\n\r\n'
        ).encode()
        self.head, self.tail = head, f"\r\n--{boundary}--\r\n".encode()
        self.block, self.size = block, size
        self.sent_payload = 0
        self.digest = hashlib.sha256()
        self._stage = 0

    def __len__(self) -> int:
        return len(self.head) + self.size + len(self.tail)

    def read(self, amount: int = -1) -> bytes:
        if self._stage == 0:
            self._stage = 1
            return self.head
        if self._stage == 1:
            step = min(len(self.block), self.size - self.sent_payload)
            if step > 0:
                chunk = self.block[:step]
                self.sent_payload += step
                self.digest.update(chunk)
                return chunk
            self._stage = 2
            return self.tail
        return b""


class RssSampler:
    """Records the peak RSS of the gunicorn workers until stopped."""

    def __init__(self, master_pid: int) -> None:
        self.master = psutil.Process(master_pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for worker in self.master.children():
                try:
                    self.peak = max(self.peak, worker.memory_info().rss)
                except psutil.NoSuchProcess:
                    continue
            self._stop.wait(0.02)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()


def submit(server: RunningReporter, text: str, block: bytes, size: int) -> tuple[str, str]:
    """One JS-off report through the real server; returns (codename, attachment sha256)."""
    with requests.Session() as session:
        page = session.get(f"{server.url}/submit", timeout=30)
        token = _CSRF_RE.search(page.text)
        assert token, page.text
        boundary = "gunicorn-" + secrets.token_hex(8)
        body = StreamedForm(
            boundary,
            [("csrf_token", token.group(1)), ("website", ""), ("category", "threats"),
             ("urgency", "urgent"), ("text", text), ("lang", "")],
            block,
            size,
        )
        response = session.post(
            f"{server.url}/submit",
            data=body,
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
            timeout=300,
        )
        assert response.status_code == 200, response.text[:2000]
        assert body.sent_payload == size
        assert "no-store" in response.headers["Cache-Control"]
        assert not re.search(r"\d", response.headers.get("Server", ""))
        codename = _CODENAME_RE.search(response.text)
        assert codename
        return codename.group(1), body.digest.hexdigest()


class _HashSink:
    def __init__(self) -> None:
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        self.size += len(data)
        return len(data)


def test_large_js_off_upload_streams_in_bounded_memory(
    gunicorn_reporter: RunningReporter, tmp_path: Path
) -> None:
    server = gunicorn_reporter
    marker = "GUNICORN-PLAINTEXT-" + secrets.token_hex(8)
    block = (marker + "\n").encode() * (65536 // (len(marker) + 1))

    with RssSampler(server.process.pid) as warmup:
        submit(server, "warm-up report", block, 1000)
    with RssSampler(server.process.pid) as upload:
        codename, expected_sha = submit(server, f"big upload {marker}", block, ATTACHMENT_BYTES)
    assert upload.peak < warmup.peak + RSS_MARGIN, (
        f"worker RSS peaked at {upload.peak // MiB} MiB during a 50 MB upload, "
        f"{warmup.peak // MiB} MiB for a tiny one: the upload was buffered"
    )

    server.process.terminate()
    server.process.wait(timeout=30)
    envelopes = sorted(
        (server.instance / "envelopes").iterdir(), key=lambda p: p.stat().st_size
    )
    assert len(envelopes) == 4  # two reports, two attachments
    big = envelopes[-1]
    # The full scanner (base64, compressed streams...) takes minutes on 50 MB of
    # ciphertext; the big envelope gets the raw forms, every other file the full scan.
    needles = [marker.encode(), marker.encode("utf-16-le"), marker.encode().hex().encode()]
    with open(big, "rb") as handle:
        overlap = b""
        while chunk := handle.read(4 * MiB):
            window = overlap + chunk
            assert not any(needle in window for needle in needles)
            overlap = window[-256:]
    others = [p for p in server.instance.rglob("*") if p.is_file() and p != big]
    assert_no_plaintext([*others, server.runtime, server.tmp, server.logs,
                         *server.database_dumps()], marker, codename)
    engine = create_engine(server.database_url)
    with engine.connect() as connection:
        stored = set(connection.scalars(select(Envelope.id)))
    engine.dispose()
    assert stored == {p.name for p in envelopes}
    assert (server.logs / "access.log").read_bytes() == b""
    logged = b"".join(p.read_bytes() for p in server.logs.iterdir())
    assert b"GET /" not in logged and b"POST /" not in logged and b"python-requests" not in logged
    spool = tmp_path / "spool"
    spool.mkdir()
    sink = _HashSink()
    with open(big, "rb") as source:
        decrypt(source, sink, server.identity, spool_dir=spool)  # type: ignore[arg-type,unused-ignore]
    assert (sink.size, sink.digest.hexdigest()) == (ATTACHMENT_BYTES, expected_sha)
    reports = []
    for path in envelopes[:-2]:
        plain = io.BytesIO()
        with open(path, "rb") as source:
            decrypt(source, plain, server.identity)
        reports.append(decode_message(plain.getvalue()))
    assert any(isinstance(r, Report) and marker in r.text for r in reports)
