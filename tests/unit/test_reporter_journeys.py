"""Every reporter journey with JavaScript off, end to end through the Flask test client.

Submit with attachments → the stored envelopes decrypt (with the responder's
identity) to the text and files sent; the codename shown logs in and shows a
reply the test encrypted to the reporter's reply key; follow-up; delete a reply;
logout. After each journey no plaintext marker (nor the codename) is at rest.
"""

from __future__ import annotations

import hashlib
import io
import logging
import secrets

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from dropbox.db import Envelope, Reporter
from dropbox.reporter.accounts import login_hash
from dropbox.sessions import COOKIE_NAME
from keys import (
    FollowUp,
    Reply,
    ReplyPublicKey,
    Report,
    decode_message,
    derive_codename,
    encode_message,
    encrypt,
)
from tests.plaintext_scan import assert_no_plaintext, find_in_bytes
from tests.unit.conftest import (
    Part,
    ReporterEnv,
    codename_from,
    csrf_from,
    csrf_token,
    post_multipart,
)


def marker(label: str) -> str:
    return f"PLAINTEXT-{label}-{secrets.token_hex(8)}"


def submit_js_off(
    client: FlaskClient, text: str, files: list[tuple[bytes, str]], **fields: str
) -> str:
    parts: list[Part] = [
        ("csrf_token", csrf_token(client)),
        ("website", ""),
        ("category", fields.get("category", "harassment")),
        ("urgency", fields.get("urgency", "normal")),
        ("text", text),
        ("lang", fields.get("lang", "")),
    ]
    types = {"png": "image/png"}
    for content, name in files or [(b"", "")]:
        media_type = types.get(name.rsplit(".", 1)[-1], "text/plain")
        parts.append(("attachments", (content, name, media_type)))
    response = post_multipart(client, "/submit", parts)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert "no-store" in response.headers["Cache-Control"]
    return codename_from(response.get_data(as_text=True))


def envelopes(env: ReporterEnv, kind: str | None = None) -> list[Envelope]:
    with env.services.database.session() as db:
        query = select(Envelope).order_by(Envelope.seq)
        if kind:
            query = query.where(Envelope.kind == kind)
        return list(db.scalars(query))


def reporter_for(env: ReporterEnv, codename: str) -> Reporter:
    hashed = login_hash(derive_codename(codename).login_secret, env.services.salt)
    with env.services.database.session() as db:
        reporter = db.scalar(select(Reporter).where(Reporter.login_hash == hashed))
    assert reporter is not None
    return reporter


def add_reply(env: ReporterEnv, reporter: Reporter, text: str) -> str:
    """What the responder API does: store a reply sealed to the reporter's reply key."""
    plaintext = encode_message(Reply(text=text, responder="Test responder"))
    store = env.services.store
    temp_path, handle = store.new_temp()
    with handle:
        encrypt(io.BytesIO(plaintext), handle, [ReplyPublicKey.parse(reporter.reply_key)])
    reply_id = secrets.token_hex(16)
    store.commit(temp_path, reply_id)
    with env.services.database.session() as db, db.begin():
        db.add(
            Envelope(
                id=reply_id,
                reporter_id=reporter.id,
                kind="reply",
                size=store.path(reply_id).stat().st_size,
                responder="ABCD EFGH IJKL MNOP QRST",
            )
        )
    return reply_id


def assert_clean(env: ReporterEnv, caplog: pytest.LogCaptureFixture, *markers: str) -> None:
    assert_no_plaintext(env.scan_paths(), *markers)
    for value in markers:
        assert find_in_bytes(caplog.text.encode(), value) == []


@pytest.fixture(autouse=True)
def _capture_everything(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)


def test_submit_with_attachments_is_sealed_to_the_responders(
    reporter_env: ReporterEnv, client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    text_marker, file_marker, name_marker = marker("text"), marker("file"), marker("name")
    big = (file_marker.encode() + b"\n") * 20000  # several 64 KiB chunks
    small = b"\x89PNG small " + file_marker.encode()
    codename = submit_js_off(
        client,
        f"They posted my address. {text_marker}",
        [(big, f"{name_marker}.txt"), (small, "photos/evidence.png")],
        category="doxing",
        urgency="emergency",
        lang="fa",
    )

    [report_row] = envelopes(reporter_env, "report")
    attachment_rows = envelopes(reporter_env, "attachment")
    assert report_row.emergency is True
    assert [row.parent_id for row in attachment_rows] == [report_row.id] * 2
    report = decode_message(reporter_env.open_envelope(report_row.id))
    assert isinstance(report, Report)
    assert text_marker in report.text
    assert (report.category, report.urgency, report.lang) == ("doxing", "emergency", "fa")
    assert report.reply_key == derive_codename(codename).reply.public
    refs = {ref.name: ref for ref in report.attachments}
    assert set(refs) == {f"{name_marker}.txt", "evidence.png"}
    by_sha = {
        hashlib.sha256(reporter_env.services.store.path(row.id).read_bytes()).hexdigest(): row
        for row in attachment_rows
    }
    for ref, content in ((refs[f"{name_marker}.txt"], big), (refs["evidence.png"], small)):
        row = by_sha[ref.envelope_sha256]
        assert ref.size == len(content)
        assert reporter_env.open_envelope(row.id) == content
    assert refs["evidence.png"].media_type == "image/png"

    assert list(reporter_env.config.tmp_dir.iterdir()) == []
    assert_clean(reporter_env, caplog, text_marker, file_marker, name_marker, codename)


def test_codename_login_shows_replies_decrypted_for_that_request_only(
    reporter_env: ReporterEnv, client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    reply_marker = marker("reply")
    codename = submit_js_off(client, marker("report"), [])
    reply_id = add_reply(reporter_env, reporter_for(reporter_env, codename), reply_marker)

    response = client.post(
        "/login", data={"csrf_token": csrf_token(client, "/login"), "codename": codename.upper()}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert reply_marker in html
    assert f'data-reply-id="{reply_id}"' in html
    assert f'data-envelope-url="/reply/{reply_id}.env"' in html

    later = client.get("/inbox").get_data(as_text=True)
    assert f'data-reply-id="{reply_id}"' in later
    assert reply_marker not in later
    assert 'id="decrypt-form"' in later
    assert_clean(reporter_env, caplog, reply_marker, codename)


def test_followup_delete_reply_and_logout(
    reporter_env: ReporterEnv, client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    codename = submit_js_off(client, marker("report"), [])
    reporter = reporter_for(reporter_env, codename)
    reply_id = add_reply(reporter_env, reporter, marker("reply"))
    client.post(
        "/login", data={"csrf_token": csrf_token(client, "/login"), "codename": codename}
    )

    followup_marker, file_marker = marker("followup"), marker("file")
    token = csrf_from(client.get("/inbox").get_data(as_text=True))
    response = client.post(
        "/followup",
        data={
            "csrf_token": token,
            "text": followup_marker,
            "attachments": [(io.BytesIO(file_marker.encode()), "more.txt")],
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    [followup_row] = envelopes(reporter_env, "followup")
    assert followup_row.reporter_id == reporter.id
    followup = decode_message(reporter_env.open_envelope(followup_row.id))
    assert isinstance(followup, FollowUp) and followup.text == followup_marker
    [attachment] = [r for r in envelopes(reporter_env, "attachment") if r.parent_id]
    assert reporter_env.open_envelope(attachment.id) == file_marker.encode()

    reply_path = reporter_env.services.store.path(reply_id)
    response = client.post(f"/reply/{reply_id}/delete", data={"csrf_token": token})
    assert response.status_code == 303
    assert not reply_path.exists()
    assert envelopes(reporter_env, "reply") == []

    response = client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 303
    assert client.get_cookie(COOKIE_NAME) is None
    assert client.get("/inbox").status_code == 303
    assert_clean(reporter_env, caplog, followup_marker, file_marker, codename)


def test_replies_are_only_reachable_by_their_owner(
    reporter_env: ReporterEnv, caplog: pytest.LogCaptureFixture
) -> None:
    owner, stranger = reporter_env.client(), reporter_env.client()
    owner_codename = submit_js_off(owner, marker("a"), [])
    stranger_codename = submit_js_off(stranger, marker("b"), [])
    reply_id = add_reply(reporter_env, reporter_for(reporter_env, owner_codename), marker("r"))
    for client, codename in ((owner, owner_codename), (stranger, stranger_codename)):
        client.post(
            "/login", data={"csrf_token": csrf_token(client, "/login"), "codename": codename}
        )

    stored = reporter_env.services.store.path(reply_id).read_bytes()
    with owner.get(f"/reply/{reply_id}.env") as response:
        assert response.data == stored
        assert response.headers["Content-Type"] == "application/octet-stream"
    assert stranger.get(f"/reply/{reply_id}.env").status_code == 404
    token = csrf_token(stranger, "/inbox")
    assert stranger.post(f"/reply/{reply_id}/delete", data={"csrf_token": token}).status_code == 404
    assert reporter_env.services.store.path(reply_id).exists()
    assert reporter_env.client().get(f"/reply/{reply_id}.env").status_code == 404


def test_intro_safety_support_and_codename_pages(client: FlaskClient) -> None:
    intro = client.get("/").get_data(as_text=True)
    for link in ('href="/safety"', 'href="/support"', 'href="/submit"'):
        assert link in intro
    assert "Tor Browser" in client.get("/safety").get_data(as_text=True)
    assert "emergency" in client.get("/support").get_data(as_text=True).lower()
    assert "only once" in client.get("/codename").get_data(as_text=True)
    submit = client.get("/submit").get_data(as_text=True)
    assert 'id="crisis-box"' in submit
    assert "not an emergency service" in submit
