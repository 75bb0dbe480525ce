"""Refusals: oversize (declared and streamed), honeypot, bad fields, busy gates,
login throttle, one generic login error, and disk failures that leave nothing behind."""

from __future__ import annotations

import errno
import io
import re
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from dropbox.db import Reporter
from dropbox.storage import EnvelopeStore
from keys import generate_codename
from tests.backends import Backend
from tests.plaintext_scan import assert_no_plaintext
from tests.unit.conftest import (
    Part,
    ReporterEnv,
    csrf_token,
    make_reporter_env,
    multipart,
    post_multipart,
)
from tests.unit.test_reporter_journeys import submit_js_off
from tests.unit.test_reporter_sealed import assert_nothing_kept

MAX_UPLOAD = 100_000
MARKER = "LIMITS-PLAINTEXT-" + secrets.token_hex(8)


def assert_refused_cleanly(env: ReporterEnv) -> None:
    """No rows, no envelope or temp file, and the marker nowhere on disk."""
    assert_nothing_kept(env)
    assert_no_plaintext(env.scan_paths(), MARKER)


@pytest.fixture
def small_env(tmp_path: Path, backend: Backend) -> Iterator[ReporterEnv]:
    env = make_reporter_env(tmp_path, backend=backend, max_upload_bytes=MAX_UPLOAD,
                            max_attachments=3, login_attempts_per_session=3)
    yield env
    env.services.database.engine.dispose()


def report_parts(client: FlaskClient, files: list[bytes], **fields: str) -> list[Part]:
    parts: list[Part] = [
        ("csrf_token", csrf_token(client)),
        ("website", fields.get("website", "")),
        ("category", fields.get("category", "other")),
        ("urgency", fields.get("urgency", "normal")),
        ("text", fields.get("text", f"something happened {MARKER}")),
        ("lang", ""),
    ]
    parts.extend(
        ("attachments", (MARKER.encode() + content, f"f{i}.bin", "application/octet-stream"))
        for i, content in enumerate(files)
    )
    return parts


def test_oversize_refused_from_content_length(small_env: ReporterEnv) -> None:
    client = small_env.client()
    body, content_type = multipart(report_parts(client, [b"x" * (MAX_UPLOAD + 3_000_000)]))
    consumed = io.BytesIO(body)
    response = client.post("/submit", input_stream=consumed, content_type=content_type,
                           content_length=len(body))
    assert response.status_code == 413
    assert "larger than this drop accepts" in response.get_data(as_text=True)
    assert consumed.tell() == 0  # refused before reading a byte
    assert_refused_cleanly(small_env)


def test_oversize_refused_while_streaming(small_env: ReporterEnv) -> None:
    client = small_env.client()
    body, content_type = multipart(report_parts(client, [b"x" * (MAX_UPLOAD + 3_000_000)]))
    # No Content-Length (chunked upload): only the count of bytes read can stop it.
    response = client.post(
        "/submit",
        input_stream=io.BytesIO(body),
        content_type=content_type,
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert response.status_code == 413
    assert_refused_cleanly(small_env)


def test_within_limit_streamed_without_content_length_is_accepted(small_env: ReporterEnv) -> None:
    client = small_env.client()
    body, content_type = multipart(report_parts(client, [b"y" * (MAX_UPLOAD // 2)]))
    response = client.post(
        "/submit",
        input_stream=io.BytesIO(body),
        content_type=content_type,
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert response.status_code == 200
    assert len(list(small_env.config.envelopes_dir.iterdir())) == 2


def test_too_many_files_refused(small_env: ReporterEnv) -> None:
    client = small_env.client()
    response = post_multipart(client, "/submit", report_parts(client, [b"a"] * 4))
    assert response.status_code == 413
    assert_refused_cleanly(small_env)
    response = post_multipart(client, "/submit", report_parts(client, [b"a"] * 3))
    assert response.status_code == 200  # exactly max_attachments is fine


def test_honeypot_filled_refused(reporter_env: ReporterEnv, client: FlaskClient) -> None:
    for files in ([], [b"data"]):
        parts = report_parts(client, files, website="http://spam.example")
        assert post_multipart(client, "/submit", parts).status_code == 400
    assert_refused_cleanly(reporter_env)


@pytest.mark.parametrize(
    ("field", "value"),
    [("category", "not-a-category"), ("urgency", "whenever"), ("text", "   ")],
)
def test_invalid_fields_rerender_the_form_with_tied_errors(
    reporter_env: ReporterEnv, client: FlaskClient, field: str, value: str
) -> None:
    parts = report_parts(client, [b"evidence"], **{field: value})
    response = post_multipart(client, "/submit", parts)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert f'id="{field}-error"' in html
    assert re.search(rf'aria-describedby="[^"]*{field}-error', html)
    assert "choose them again" in html  # the sealed file was dropped, and the reporter told
    assert_refused_cleanly(reporter_env)


def test_text_field_longer_than_allowed(tmp_path: Path, backend: Backend) -> None:
    env = make_reporter_env(tmp_path, backend=backend, max_text_chars=100)
    client = env.client()
    response = post_multipart(client, "/submit", report_parts(client, [], text="z" * 1000))
    assert response.status_code == 400
    assert_refused_cleanly(env)
    env.services.database.engine.dispose()


def _login(client: FlaskClient, codename: str) -> tuple[int, str]:
    response = client.post(
        "/login", data={"csrf_token": csrf_token(client, "/login"), "codename": codename}
    )
    html = response.get_data(as_text=True)
    match = re.search(r'<p class="field-error" id="codename-error" role="alert">([^<]*)</p>', html)
    return response.status_code, match.group(1) if match else ""


def test_one_generic_login_error(reporter_env: ReporterEnv) -> None:
    registered = reporter_env.client()
    deleted_codename = submit_js_off(registered, "to be deleted", [])
    with reporter_env.services.database.session() as db, db.begin():
        for reporter in db.query(Reporter).all():
            db.delete(reporter)
    attempts = [
        generate_codename(),  # well-formed, never registered
        deleted_codename,  # registered, then deleted
        "apple banana",  # too few words
        "zzzz " * 8,  # words not in the list
        "x" * 300,  # too long
        "1234 5678",  # wrong characters
        "",
    ]
    results = {_login(reporter_env.client(), attempt) for attempt in attempts}
    assert len(results) == 1
    [(status, message)] = results
    assert status == 401 and "did not open an inbox" in message


def test_login_throttle_per_session(small_env: ReporterEnv) -> None:
    client = small_env.client()
    codename = submit_js_off(client, "report", [])
    for _ in range(3):
        assert _login(client, generate_codename())[0] == 401
    status, message = _login(client, codename)
    assert status == 429 and "Too many" in message
    assert _login(small_env.client(), codename)[0] == 200


def test_busy_gates_refuse_with_503(reporter_env: ReporterEnv, client: FlaskClient) -> None:
    codename = submit_js_off(client, "report", [])
    for gate in (reporter_env.services.login_gate, reporter_env.services.sealing_gate):
        gate.wait_seconds = 0.0
        while gate.try_acquire():
            pass
    try:
        status, _ = _login(client, codename)
        assert status == 503
        response = post_multipart(client, "/submit", report_parts(client, [b"file"]))
        assert response.status_code == 503
        assert "busy" in response.get_data(as_text=True)
    finally:
        for gate in (reporter_env.services.login_gate, reporter_env.services.sealing_gate):
            for _ in range(gate.slots):
                gate.release()
    assert len(list(reporter_env.config.envelopes_dir.iterdir())) == 1  # the first report only


@pytest.mark.parametrize("fail_on_call", [1, 2, 3])
def test_disk_failure_leaves_nothing(
    reporter_env: ReporterEnv, client: FlaskClient, monkeypatch: pytest.MonkeyPatch,
    fail_on_call: int,
) -> None:
    real_commit = EnvelopeStore.commit
    calls = {"n": 0}

    def failing_commit(self: EnvelopeStore, temp_path: Path, envelope_id: str) -> Path:
        calls["n"] += 1
        if calls["n"] == fail_on_call:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_commit(self, temp_path, envelope_id)

    monkeypatch.setattr(EnvelopeStore, "commit", failing_commit)
    response = post_multipart(client, "/submit", report_parts(client, [b"one", b"two"]))
    assert response.status_code == 500
    assert "could not be saved" in response.get_data(as_text=True)
    assert_refused_cleanly(reporter_env)


def test_disk_failure_while_sealing_leaves_nothing(
    reporter_env: ReporterEnv, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dropbox.reporter import sinks

    def full_disk(self: sinks.HashingWriter, data: bytes) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(sinks.HashingWriter, "write", full_disk)
    response = post_multipart(client, "/submit", report_parts(client, [b"x" * 200_000]))
    assert response.status_code == 500
    assert_refused_cleanly(reporter_env)


def test_followup_needs_a_logged_in_session(
    reporter_env: ReporterEnv, client: FlaskClient
) -> None:
    token = csrf_token(client, "/login")
    response = post_multipart(
        client, "/followup",
        [("csrf_token", token), ("text", "hi"), ("attachments", (b"x", "x.txt", "text/plain"))],
    )
    assert response.status_code == 403
    assert_refused_cleanly(reporter_env)


def test_uploads_keep_the_session_alive_while_streaming(
    reporter_env: ReporterEnv, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dropbox.reporter import multipart as multipart_module
    from dropbox.sessions import SessionStore

    touched: list[str] = []
    real_touch = SessionStore.touch

    def spy(self: SessionStore, sid: str) -> None:
        touched.append(sid)
        real_touch(self, sid)

    monkeypatch.setattr(SessionStore, "touch", spy)
    # Every read counts as "a minute later", so the keep-alive fires on each chunk.
    monkeypatch.setattr(multipart_module, "KEEPALIVE_SECONDS", -1.0)
    parts = report_parts(client, [b"z" * (5 * multipart_module.READ_CHUNK)])
    touched.clear()
    assert post_multipart(client, "/submit", parts).status_code == 200
    assert len(touched) >= 5 + 2  # start, every chunk, end
    assert len(set(touched)) == 1
