"""The JS-on API: envelopes built in the test with keys.encrypt, as the browser builds them.

The server stores exactly the bytes sent, checks each envelope's header before
accepting it, never sees the codename, and refuses malformed requests with a
JSON error while keeping nothing.
"""

from __future__ import annotations

import errno
import hashlib
import io
import secrets
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from dropbox.db import Envelope, Reporter
from dropbox.reporter.sinks import HashingWriter, SealingTarget, UploadBatch
from dropbox.storage import EnvelopeStore
from keys import (
    FollowUp,
    Reply,
    ReplyPublicKey,
    Report,
    ResponderIdentity,
    decode_message,
    decrypt,
    derive_codename,
    encode_message,
    encrypt,
    generate_codename,
)
from keys.envelope import CHUNK_SIZE
from tests.plaintext_scan import assert_no_plaintext
from tests.unit.conftest import Part, ReporterEnv, csrf_token, post_multipart
from tests.unit.test_reporter_journeys import add_reply, envelopes


def seal(data: bytes, recipients: list[object]) -> bytes:
    out = io.BytesIO()
    encrypt(io.BytesIO(data), out, recipients)  # type: ignore[arg-type]
    return out.getvalue()


def sealed_submit_parts(
    env: ReporterEnv, client: FlaskClient, codename: str, text: str, attachment: bytes
) -> tuple[list[Part], bytes, bytes]:
    derived = derive_codename(codename)
    attachment_env = seal(attachment, [env.identity.public])
    from keys import AttachmentRef

    report = Report(
        category="threats",
        urgency="emergency",
        text=text,
        reply_key=derived.reply.public,
        attachments=(
            AttachmentRef(
                "a.bin", len(attachment), "application/octet-stream",
                hashlib.sha256(attachment_env).hexdigest(),
            ),
        ),
    )
    report_env = seal(encode_message(report), [env.identity.public])
    parts: list[Part] = [
        ("csrf_token", csrf_token(client)),
        ("mode", "sealed"),
        ("reply_key", str(derived.reply.public)),
        ("login_secret", derived.login_secret.hex()),
        ("emergency", "1"),
        ("report", (report_env, "blob", "application/octet-stream")),
        ("attachment", (attachment_env, "blob", "application/octet-stream")),
    ]
    return parts, report_env, attachment_env


def count_rows(env: ReporterEnv) -> tuple[int, int]:
    with env.services.database.session() as db:
        return (
            db.scalar(select(func.count()).select_from(Reporter)) or 0,
            db.scalar(select(func.count()).select_from(Envelope)) or 0,
        )


def assert_nothing_kept(env: ReporterEnv) -> None:
    assert count_rows(env) == (0, 0)
    assert list(env.config.envelopes_dir.iterdir()) == []
    assert list(env.config.tmp_dir.iterdir()) == []


def test_sealed_submit_stores_the_envelopes_as_sent(
    reporter_env: ReporterEnv, client: FlaskClient
) -> None:
    codename = generate_codename()
    text = "sealed-" + secrets.token_hex(8)
    parts, report_env, attachment_env = sealed_submit_parts(
        reporter_env, client, codename, text, b"attachment bytes " * 5000
    )
    response = post_multipart(client, "/submit", parts, headers={"Accept": "application/json"})
    assert response.status_code == 200
    assert response.get_json() == {"ok": True}

    [report_row] = envelopes(reporter_env, "report")
    [attachment_row] = envelopes(reporter_env, "attachment")
    assert report_row.emergency is True
    assert attachment_row.parent_id == report_row.id
    store = reporter_env.services.store
    assert store.path(report_row.id).read_bytes() == report_env
    assert store.path(attachment_row.id).read_bytes() == attachment_env
    decoded = decode_message(reporter_env.open_envelope(report_row.id))
    assert isinstance(decoded, Report) and decoded.text == text
    # The codename never reached the server, so it cannot be anywhere on it.
    assert_no_plaintext(reporter_env.scan_paths(), codename, text)


def test_sealed_login_and_inbox_ciphertext_for_the_browser(
    reporter_env: ReporterEnv, client: FlaskClient
) -> None:
    codename = generate_codename()
    parts, _, _ = sealed_submit_parts(reporter_env, client, codename, "x", b"y")
    assert post_multipart(client, "/submit", parts).status_code == 200
    [reporter] = _reporters(reporter_env)
    derived = derive_codename(codename)
    assert reporter.reply_key == str(derived.reply.public)
    reply_id = add_reply(reporter_env, reporter, "a reply only the browser opens")

    token = csrf_token(client, "/login")
    response = client.post(
        "/login", data={"csrf_token": token, "login_secret": derived.login_secret.hex()}
    )
    assert response.status_code == 200
    assert response.get_json() == {"ok": True, "inbox": "/inbox"}
    inbox = client.get("/inbox").get_data(as_text=True)
    assert f'data-envelope-url="/reply/{reply_id}.env"' in inbox
    assert "a reply only the browser opens" not in inbox
    with client.get(f"/reply/{reply_id}.env") as ciphertext:
        out = io.BytesIO()
        decrypt(io.BytesIO(ciphertext.data), out, derived.reply)
    reply = decode_message(out.getvalue())
    assert isinstance(reply, Reply) and reply.text == "a reply only the browser opens"

    followup_env = seal(encode_message(FollowUp(text="more")), [reporter_env.identity.public])
    response = post_multipart(
        client,
        "/followup",
        [
            ("csrf_token", csrf_token(client, "/inbox")),
            ("mode", "sealed"),
            ("emergency", "0"),
            ("followup", (followup_env, "blob", "application/octet-stream")),
        ],
    )
    assert response.get_json() == {"ok": True}
    [row] = envelopes(reporter_env, "followup")
    assert reporter_env.services.store.path(row.id).read_bytes() == followup_env


def _reporters(env: ReporterEnv) -> list[Reporter]:
    with env.services.database.session() as db:
        return list(db.scalars(select(Reporter)))


def _bad_envelope(kind: str, good: bytes) -> bytes:
    if kind == "magic":
        return b"NOTDROP" + good[7:]
    if kind == "version":
        return good[:7] + b"\x02" + good[8:]
    if kind == "count0":
        return good[:8] + b"\x00" + good[9:]
    if kind == "count33":
        return good[:8] + b"\x21" + good[9:]
    if kind == "truncated":
        return good[:100]
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["magic", "version", "count0", "count33", "truncated"])
@pytest.mark.parametrize("field", ["report", "attachment"])
def test_malformed_envelope_is_refused_and_nothing_kept(
    reporter_env: ReporterEnv, client: FlaskClient, kind: str, field: str
) -> None:
    parts, _, _ = sealed_submit_parts(reporter_env, client, generate_codename(), "t", b"a")
    index = next(i for i, (name, _) in enumerate(parts) if name == field)
    file_part = parts[index][1]
    assert not isinstance(file_part, str)
    content, filename, media_type = file_part
    parts[index] = (field, (_bad_envelope(kind, content), filename, media_type))
    response = post_multipart(client, "/submit", parts)
    assert response.status_code == 400
    body = response.get_json()
    assert body["ok"] is False and body["error"]
    assert_nothing_kept(reporter_env)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("login_secret", "zz" * 32),
        ("login_secret", "ab" * 31),
        ("reply_key", "drop-reply-notakey"),
        ("emergency", "yes"),
    ],
)
def test_malformed_fields_are_refused(
    reporter_env: ReporterEnv, client: FlaskClient, field: str, value: str
) -> None:
    parts, _, _ = sealed_submit_parts(reporter_env, client, generate_codename(), "t", b"a")
    parts = [(name, value if name == field else v) for name, v in parts]
    response = post_multipart(client, "/submit", parts)
    assert response.status_code == 400
    assert response.get_json()["ok"] is False
    assert_nothing_kept(reporter_env)


def test_sealed_form_with_plaintext_file_or_two_reports_is_refused(
    reporter_env: ReporterEnv, client: FlaskClient
) -> None:
    parts, report_env, _ = sealed_submit_parts(
        reporter_env, client, generate_codename(), "t", b"a"
    )
    with_plaintext = [*parts, ("attachments", (b"plain", "p.txt", "text/plain"))]
    assert post_multipart(client, "/submit", with_plaintext).status_code == 400
    two_reports = [*parts, ("report", (report_env, "blob", "application/octet-stream"))]
    assert post_multipart(client, "/submit", two_reports).status_code == 400
    assert_nothing_kept(reporter_env)


def test_same_login_secret_cannot_register_twice(
    reporter_env: ReporterEnv, client: FlaskClient
) -> None:
    codename = generate_codename()
    parts, _, _ = sealed_submit_parts(reporter_env, client, codename, "t", b"a")
    assert post_multipart(client, "/submit", parts).status_code == 200
    parts, _, _ = sealed_submit_parts(reporter_env, client, codename, "t", b"a")
    assert post_multipart(client, "/submit", parts).status_code == 400
    assert count_rows(reporter_env) == (1, 2)
    assert len(list(reporter_env.config.envelopes_dir.iterdir())) == 2


def test_reply_key_round_trips(reporter_env: ReporterEnv, client: FlaskClient) -> None:
    codename = generate_codename()
    parts, _, _ = sealed_submit_parts(reporter_env, client, codename, "t", b"a")
    post_multipart(client, "/submit", parts)
    [reporter] = _reporters(reporter_env)
    assert ReplyPublicKey.parse(reporter.reply_key) == derive_codename(codename).reply.public


# The JS-off path: a plaintext file part sealed as it streams, handed views of the bytes read.


def _start_sealing(tmp_path: Path) -> tuple[UploadBatch, SealingTarget, ResponderIdentity]:
    identity = ResponderIdentity.generate()
    batch = UploadBatch(EnvelopeStore(tmp_path))
    return batch, SealingTarget(batch, [identity.public], "f.bin", "a/b"), identity


def test_sealing_target_seals_views_and_buffers_the_caller_reuses(tmp_path: Path) -> None:
    batch, target, identity = _start_sealing(tmp_path)
    block = secrets.token_bytes(CHUNK_SIZE * 16 + 5)
    cut = CHUNK_SIZE * 9 + 1
    scratch = bytearray(b"m" * 1000)
    target.write(memoryview(block)[:cut])  # a view of the bytes read
    target.write(memoryview(scratch))
    scratch[:] = b"z" * 1000  # reused by the caller: what was written must not change
    target.write(block[cut:])
    target.finish()
    batch.commit()
    sealed = EnvelopeStore(tmp_path).path(target.part.envelope_id).read_bytes()
    assert target.part.size == len(sealed)
    assert target.part.sha256 == hashlib.sha256(sealed).hexdigest()
    assert target.plaintext_size == len(block) + 1000
    opened = io.BytesIO()
    decrypt(io.BytesIO(sealed), opened, identity)
    assert opened.getvalue() == block[:cut] + b"m" * 1000 + block[cut:]


def test_a_write_error_while_sealing_reaches_the_request_and_nothing_stays(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    batch, target, _ = _start_sealing(tmp_path)
    real_write = HashingWriter.write

    def disk_full_after_1_mib(self: HashingWriter, data: bytes | memoryview) -> int:
        if self.size > 1 << 20:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(self, data)

    monkeypatch.setattr(HashingWriter, "write", disk_full_after_1_mib)
    with pytest.raises(OSError) as raised:
        for _ in range(4):
            target.write(memoryview(secrets.token_bytes(1 << 20)))
        target.finish()
    assert raised.value.errno == errno.ENOSPC
    batch.discard()
    assert list((tmp_path / "tmp").iterdir()) == []


def test_discard_mid_upload_leaves_nothing(tmp_path: Path) -> None:
    batch, target, _ = _start_sealing(tmp_path)
    for _ in range(3):
        target.write(memoryview(secrets.token_bytes(1 << 20)))
    assert len(list((tmp_path / "tmp").iterdir())) == 1
    batch.discard()  # as after a refused or broken request: no finish()
    assert list((tmp_path / "tmp").iterdir()) == []
    assert list((tmp_path / "envelopes").iterdir()) == []
