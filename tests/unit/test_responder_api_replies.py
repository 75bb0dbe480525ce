"""Reply uploads beyond the happy path: signature spelling, replays and leftover files."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

import keys
from dropbox.db import Envelope, Reporter
from dropbox.responder_api import replies, reply_files
from tests.journalist_support import ApiEnv, new_id, seal

B64_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def _push(api: ApiEnv, reporter_id: str, envelope: bytes, signature_text: str,
          reply_id: str) -> tuple[int, dict[str, object]]:
    query = urlencode(sorted({"reporter_id": reporter_id, "id": reply_id,
                              "signature": signature_text,
                              "responder": api.identity.public.fingerprint}.items()))
    response = api.call("POST", f"/api/v1/replies?{query}", body=envelope,
                        headers={"X-Drop-Body-SHA256": hashlib.sha256(envelope).hexdigest()})
    return response.status_code, response.get_json()


def _signed_reply(api: ApiEnv, text: bytes = b"hello") -> tuple[str, bytes, str]:
    """A reporter, a reply envelope sealed to them and its canonical signature text."""
    pair = keys.ReplyKeyPair.generate()
    reporter = api.add_reporter(pair.public)
    envelope = seal(text, [pair.public])
    signature = keys.sign_reply(api.identity, pair.public, hashlib.sha256(envelope).digest())
    return reporter, envelope, base64.b64encode(signature).decode()


def _reply_rows(api: ApiEnv) -> list[str]:
    with api.context.database.session() as session:
        return list(session.scalars(select(Envelope.id).where(Envelope.kind == "reply")))


def test_a_signature_with_non_zero_unused_bits_is_refused(api: ApiEnv) -> None:
    reporter, envelope, signature = _signed_reply(api)
    # 64 bytes in base64: the last data character carries 4 unused bits; set one.
    last = signature[-3]
    spelled_otherwise = signature[:-3] + B64_ALPHABET[B64_ALPHABET.index(last) ^ 1] + "=="
    assert base64.b64decode(spelled_otherwise) == base64.b64decode(signature)
    status, answer = _push(api, reporter, envelope, spelled_otherwise, new_id())
    assert status == 400 and answer["accepted"] is False
    assert "canonical base64" in str(answer["error"])
    assert _reply_rows(api) == []
    assert list(api.context.store.envelopes_dir.iterdir()) == []
    assert list(api.context.store.tmp_dir.iterdir()) == []


def test_a_held_reply_pushed_again_under_a_new_id_is_refused(api: ApiEnv) -> None:
    reporter, envelope, signature = _signed_reply(api)
    first = new_id()
    assert _push(api, reporter, envelope, signature, first)[0] == 201
    status, answer = _push(api, reporter, envelope, signature, new_id())
    assert status == 409 and answer["accepted"] is False
    assert "already holds this reply envelope" in str(answer["error"])
    assert _reply_rows(api) == [first]
    assert [p.name for p in api.context.store.envelopes_dir.iterdir()] == [first]
    assert list(api.context.store.tmp_dir.iterdir()) == []


def test_different_replies_of_the_same_size_are_both_accepted(api: ApiEnv) -> None:
    pair = keys.ReplyKeyPair.generate()
    reporter = api.add_reporter(pair.public)
    envelopes = [seal(b"same length", [pair.public]) for _ in range(2)]
    assert len(envelopes[0]) == len(envelopes[1]) and envelopes[0] != envelopes[1]
    for envelope in envelopes:
        signature = keys.sign_reply(api.identity, pair.public,
                                    hashlib.sha256(envelope).digest())
        status, _ = _push(api, reporter, envelope, base64.b64encode(signature).decode(),
                          new_id())
        assert status == 201
    assert len(_reply_rows(api)) == 2


def test_a_leftover_file_with_the_same_bytes_is_adopted(api: ApiEnv) -> None:
    """A push whose row was lost after its file was renamed (crash, failed commit)
    completes when pushed again, instead of failing until `dropbox purge`."""
    reporter, envelope, signature = _signed_reply(api)
    reply_id = new_id()
    (api.context.store.envelopes_dir / reply_id).write_bytes(envelope)
    status, answer = _push(api, reporter, envelope, signature, reply_id)
    assert (status, answer) == (201, {"accepted": True, "id": reply_id})
    assert _reply_rows(api) == [reply_id]
    with api.context.store.open(reply_id) as stored:
        assert stored.read() == envelope
    assert list(api.context.store.tmp_dir.iterdir()) == []


def test_a_leftover_file_with_other_bytes_keeps_the_id_refused(api: ApiEnv) -> None:
    reporter, envelope, signature = _signed_reply(api)
    reply_id = new_id()
    leftover = api.context.store.envelopes_dir / reply_id
    leftover.write_bytes(b"something else")
    status, answer = _push(api, reporter, envelope, signature, reply_id)
    assert status == 503 and answer["accepted"] is False
    assert "dropbox purge" in str(answer["error"])
    assert _reply_rows(api) == []
    assert leftover.read_bytes() == b"something else"
    assert list(api.context.store.tmp_dir.iterdir()) == []
    with api.context.database.session() as session:
        assert session.scalar(select(func.count()).select_from(Envelope)) == 0


def _race_before_insert(api: ApiEnv, monkeypatch: pytest.MonkeyPatch,
                        race: Callable[[Session], object]) -> None:
    """Run `race` in its own committed transaction just before the upload inserts its row."""

    def racing_held_copy(session: Session, *args: Any) -> str | None:
        with api.context.database.session() as other, other.begin():
            race(other)
        return reply_files.held_copy(session, *args)

    monkeypatch.setattr(replies, "held_copy", racing_held_copy)


def test_a_push_that_loses_the_race_for_its_id_gets_the_409(
        api: ApiEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    reporter, envelope, signature = _signed_reply(api)
    reply_id = new_id()
    _race_before_insert(api, monkeypatch, lambda other: other.add(Envelope(
        id=reply_id, reporter_id=reporter, kind="reply", parent_id=None, size=1,
        emergency=False)))
    status, answer = _push(api, reporter, envelope, signature, reply_id)
    assert (status, answer["error"]) == (409, "an envelope with this id already exists")
    assert list(api.context.store.envelopes_dir.iterdir()) == []
    assert list(api.context.store.tmp_dir.iterdir()) == []


def test_a_push_racing_the_reporters_deletion_gets_the_404(
        api: ApiEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    reporter, envelope, signature = _signed_reply(api)
    _race_before_insert(api, monkeypatch, lambda other: other.execute(
        delete(Reporter).where(Reporter.id == reporter)))
    status, answer = _push(api, reporter, envelope, signature, new_id())
    assert status == 404 and "no such reporter" in str(answer["error"])
    assert _reply_rows(api) == []
    assert list(api.context.store.envelopes_dir.iterdir()) == []
    assert list(api.context.store.tmp_dir.iterdir()) == []
