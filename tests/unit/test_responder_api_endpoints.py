"""The responder API's endpoints (FORMAT.md §9), with properly signed requests."""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import urlencode

from sqlalchemy import select

import keys
from dropbox.db import Envelope, Reporter
from tests.journalist_support import ApiEnv, new_id, seal


def test_items_are_listed_in_pages_after_a_cursor(api: ApiEnv) -> None:
    reporter = api.add_reporter()
    ids = [api.add_envelope(reporter, b"e%d" % n) for n in range(5)]
    first = api.call("GET", "/api/v1/items?after=0&limit=3").get_json()
    assert [i["id"] for i in first["items"]] == ids[:3] and first["more"] is True
    rest = api.call("GET", f"/api/v1/items?after={first['next_after']}&limit=3").get_json()
    assert [i["id"] for i in rest["items"]] == ids[3:] and rest["more"] is False
    listed = first["items"][0]
    assert set(listed) == {"seq", "id", "kind", "reporter_id", "parent_id", "size", "day",
                           "emergency", "reply_key", "signature", "responder"}
    assert listed["reply_key"].startswith("drop-reply-") and listed["size"] == 2


def test_download_streams_the_stored_ciphertext(api: ApiEnv) -> None:
    reporter = api.add_reporter()
    data = bytes(range(256)) * 1000
    envelope_id = api.add_envelope(reporter, data)
    response = api.call("GET", f"/api/v1/items/{envelope_id}")
    body = response.data
    response.close()
    assert response.status_code == 200 and body == data
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert api.call("GET", f"/api/v1/items/{new_id()}").status_code == 404
    assert api.call("GET", "/api/v1/items/" + "G" * 32).status_code == 404
    assert api.call("GET", "/api/v1/items/keyring.json").status_code == 404


def test_counts_call_out_emergencies(api: ApiEnv) -> None:
    reporter = api.add_reporter()
    api.add_envelope(reporter, b"r")
    api.add_envelope(reporter, b"f", kind="followup", emergency=True)
    api.add_envelope(reporter, b"a", kind="attachment")
    assert api.call("GET", "/api/v1/counts?after=0").get_json() == {
        "new": 2, "emergency": 1, "latest": 3}
    assert api.call("GET", "/api/v1/counts?after=3").get_json()["new"] == 0


def test_deleting_a_report_wipes_it_and_its_attachments(api: ApiEnv) -> None:
    reporter = api.add_reporter()
    report = api.add_envelope(reporter, b"report")
    attachment = api.add_envelope(reporter, b"file", kind="attachment", parent_id=report)
    other = api.add_envelope(reporter, b"other")
    response = api.call("POST", f"/api/v1/items/{report}/delete")
    assert response.get_json() == {"deleted": sorted([report, attachment])}
    store = api.context.store
    assert not store.exists(report) and not store.exists(attachment) and store.exists(other)
    assert api.call("POST", f"/api/v1/items/{report}/delete").status_code == 404


def test_deleting_a_reporter_removes_the_account_and_everything(api: ApiEnv) -> None:
    reporter, bystander = api.add_reporter(), api.add_reporter()
    mine = [api.add_envelope(reporter, b"x"), api.add_envelope(reporter, b"y", kind="reply")]
    kept = api.add_envelope(bystander, b"z")
    response = api.call("POST", f"/api/v1/reporters/{reporter}/delete")
    assert response.status_code == 200
    with api.context.database.session() as session:
        assert session.get(Reporter, reporter) is None
        assert session.scalars(select(Envelope.id)).all() == [kept]
    assert not any(api.context.store.exists(i) for i in mine)


def _upload(api: ApiEnv, reporter_id: str, envelope: bytes, signature: bytes,
            signer: keys.ResponderPublicKey | None = None, reply_id: str | None = None,
            declared: bytes | None = None) -> object:
    query = urlencode(sorted({
        "reporter_id": reporter_id, "id": reply_id or new_id(),
        "signature": base64.b64encode(signature).decode(),
        "responder": (signer or api.identity.public).fingerprint}.items()))
    digest = hashlib.sha256(envelope if declared is None else declared).hexdigest()
    return api.call("POST", f"/api/v1/replies?{query}", body=envelope,
                    sign_body=declared, headers={"X-Drop-Body-SHA256": digest})


def test_a_signed_reply_is_stored_and_listed_for_its_reporter(api: ApiEnv) -> None:
    reply_pair = keys.ReplyKeyPair.generate()
    reporter = api.add_reporter(reply_pair.public)
    envelope = seal(b"hello", [reply_pair.public])
    signature = keys.sign_reply(api.identity, reply_pair.public, hashlib.sha256(envelope).digest())
    reply_id = new_id()
    response = _upload(api, reporter, envelope, signature, reply_id=reply_id)
    assert response.status_code == 201  # type: ignore[attr-defined]
    with api.context.store.open(reply_id) as stored:
        assert stored.read() == envelope
    listed = api.call("GET", f"/api/v1/replies/{reporter}").get_json()["replies"]
    assert [r["id"] for r in listed] == [reply_id]
    assert listed[0]["responder"] == api.identity.public.fingerprint
    again = _upload(api, reporter, envelope, signature, reply_id=reply_id)
    assert again.status_code == 409  # type: ignore[attr-defined]


def test_a_reply_signed_for_another_reporter_is_refused(api: ApiEnv) -> None:
    intended, other = keys.ReplyKeyPair.generate(), keys.ReplyKeyPair.generate()
    api.add_reporter(intended.public)
    other_reporter = api.add_reporter(other.public)
    envelope = seal(b"for someone else", [intended.public])
    signature = keys.sign_reply(api.identity, intended.public, hashlib.sha256(envelope).digest())
    response = _upload(api, other_reporter, envelope, signature)
    assert response.status_code == 400  # type: ignore[attr-defined]
    assert list(api.context.store.envelopes_dir.iterdir()) == []
    assert list(api.context.store.tmp_dir.iterdir()) == []


def test_a_reply_signed_by_a_stranger_is_refused(api: ApiEnv) -> None:
    pair = keys.ReplyKeyPair.generate()
    reporter = api.add_reporter(pair.public)
    stranger = keys.ResponderIdentity.generate()
    envelope = seal(b"forged", [pair.public])
    signature = keys.sign_reply(stranger, pair.public, hashlib.sha256(envelope).digest())
    response = _upload(api, reporter, envelope, signature, signer=stranger.public)
    assert response.status_code == 400  # type: ignore[attr-defined]


def test_a_reply_body_that_differs_from_the_signed_hash_gets_the_401(api: ApiEnv) -> None:
    pair = keys.ReplyKeyPair.generate()
    reporter = api.add_reporter(pair.public)
    envelope = seal(b"real", [pair.public])
    signature = keys.sign_reply(api.identity, pair.public, hashlib.sha256(envelope).digest())
    response = _upload(api, reporter, envelope + b"!", signature, declared=envelope)
    assert response.status_code == 401  # type: ignore[attr-defined]
    assert list(api.context.store.envelopes_dir.iterdir()) == []
    assert list(api.context.store.tmp_dir.iterdir()) == []


def test_keyring_endpoint_lists_public_keys(api: ApiEnv) -> None:
    assert api.call("GET", "/api/v1/keyring").get_json() == {
        "keyring": [{"name": "sam", "public_key": str(api.identity.public)}]}
