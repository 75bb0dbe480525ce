"""Signed requests (FORMAT.md §7): every kind of bad request gets the very same 401."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import time
from collections.abc import Callable
from typing import Any

import pytest

import keys
from dropbox.keyring import Keyring
from tests.journalist_support import ApiEnv

UNAUTHORIZED = b'{"error":"unauthorized"}\n'


def test_a_signed_request_is_served(api: ApiEnv) -> None:
    response = api.call("GET", "/api/v1/items?after=0")
    assert response.status_code == 200
    assert response.get_json() == {"items": [], "next_after": 0, "more": False}


def _stranger_key(_: ApiEnv) -> keys.OnlineSigningKey:
    return keys.OnlineSigningKey.delegate(keys.ResponderIdentity.generate(), 7)


def _expired_key(api: ApiEnv) -> keys.OnlineSigningKey:
    long_ago = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=30)
    return keys.OnlineSigningKey.delegate(api.identity, 3, today=long_ago)


BAD_REQUESTS: dict[str, Callable[[ApiEnv], object]] = {
    "unsigned": lambda api: api.app.test_client().get("/api/v1/items"),
    "unsigned_unknown_path": lambda api: api.app.test_client().get("/api/v1/nothing-here"),
    # §9: the 401 comes before the method and size rules, whatever the path.
    "unsigned_put": lambda api: api.app.test_client().put("/api/v1/items"),
    "unsigned_delete_unknown_path": lambda api: api.app.test_client().delete("/api/v1/x"),
    "unsigned_large_body": lambda api: api.app.test_client().post(
        "/api/v1/items/" + "0" * 32 + "/delete", data=b"x" * 70_000),
    # The signature covers the body's hash, and a body over the cap is never read.
    "signed_large_body": lambda api: api.call(
        "POST", "/api/v1/items/" + "0" * 32 + "/delete", body=b"x" * (64 * 1024 + 1)),
    "key_not_in_keyring": lambda api: api.call("GET", "/api/v1/items",
                                                key=_stranger_key(api)),
    "expired_certificate": lambda api: api.call("GET", "/api/v1/items", key=_expired_key(api)),
    "stale": lambda api: api.call("GET", "/api/v1/items", timestamp=int(time.time()) - 301),
    # int() rounds down and the server reads its clock a moment later: a margin
    # of 10 s keeps this beyond the window however the second boundaries fall.
    "from_the_future": lambda api: api.call("GET", "/api/v1/items",
                                            timestamp=int(time.time()) + 310),
    "tampered_query": lambda api: api.call("GET", "/api/v1/items?after=5",
                                           sign_path="/api/v1/items?after=0"),
    "tampered_method": lambda api: api.app.test_client().post(
        "/api/v1/counts", headers=keys.sign_request(
            api.online_key, "GET", "/api/v1/counts", bytes(32), int(time.time()),
            "n" * 20)),
    "tampered_body": lambda api: api.call("POST", "/api/v1/items/" + "a" * 32 + "/delete",
                                          body=b"x", sign_body=b""),
    "garbage_signature": lambda api: api.call(
        "GET", "/api/v1/items", headers={"X-Drop-Signature": "AAAA"}),
    "duplicate_header": lambda api: api.app.test_client().get(
        "/api/v1/items", headers=[*keys.sign_request(
            api.online_key, "GET", "/api/v1/items", bytes.fromhex(
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
            int(time.time()), "d" * 20).items(), ("X-Drop-Nonce", "e" * 20)]),
}


@pytest.mark.parametrize("name", sorted(BAD_REQUESTS))
def test_bad_request_gets_the_one_401(api: ApiEnv, name: str) -> None:
    response = BAD_REQUESTS[name](api)
    assert response.status_code == 401  # type: ignore[attr-defined]
    assert response.data == UNAUTHORIZED  # type: ignore[attr-defined]


def test_a_replayed_request_gets_the_same_401(api: ApiEnv) -> None:
    assert api.call("GET", "/api/v1/counts", nonce="replayed-nonce-0001").status_code == 200
    again = api.call("GET", "/api/v1/counts", nonce="replayed-nonce-0001")
    assert (again.status_code, again.data) == (401, UNAUTHORIZED)


def test_removing_a_responder_from_the_keyring_revokes_their_online_key(api: ApiEnv) -> None:
    assert api.call("GET", "/api/v1/counts").status_code == 200
    Keyring.load(api.config.keyring_path).remove("sam")
    response = api.call("GET", "/api/v1/counts")
    assert (response.status_code, response.data) == (401, UNAUTHORIZED)


def test_old_nonces_are_purged_after_two_days(api: ApiEnv) -> None:
    from sqlalchemy import select

    from dropbox.db import ApiNonce

    old_day = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=3)
    with api.context.database.session() as session, session.begin():
        session.add(ApiNonce(nonce="old-nonce-0000000001", day=old_day))
    assert api.call("GET", "/api/v1/counts").status_code == 200
    with api.context.database.session() as session:
        nonces = session.scalars(select(ApiNonce.nonce)).all()
    assert "old-nonce-0000000001" not in nonces and len(nonces) == 1


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
def test_only_get_head_and_post(api: ApiEnv, method: str) -> None:
    response = api.call(method, "/api/v1/items")
    assert response.status_code == 405


class _CountingBody(io.BytesIO):
    """A request body that remembers how many bytes the server read from it."""

    consumed = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.consumed += len(chunk)
        return chunk

    def readinto(self, buffer: Any) -> int:
        count = super().readinto(buffer)
        self.consumed += count
        return count


def test_a_large_body_on_a_small_endpoint_is_refused_before_it_is_read(api: ApiEnv) -> None:
    body = _CountingBody(b"x" * (64 * 1024 + 1))
    response = api.app.test_client().get("/api/v1/items", input_stream=body,
                                         content_length=64 * 1024 + 1)
    assert response.status_code == 401 and response.data == UNAUTHORIZED
    assert body.consumed == 0


def test_one_request_replayed_concurrently_is_served_once(api: ApiEnv) -> None:
    """gunicorn workers share nothing but the database: the nonce's primary key is
    what must refuse all but one of identical requests arriving together."""
    import threading

    headers = keys.sign_request(api.online_key, "GET", "/api/v1/counts",
                                hashlib.sha256(b"").digest(), int(time.time()),
                                "concurrent-replay-0001")
    start = threading.Barrier(6)
    statuses: list[int] = []

    def send() -> None:
        client = api.app.test_client()
        start.wait()
        statuses.append(client.get("/api/v1/counts", headers=headers).status_code)

    threads = [threading.Thread(target=send) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] + [401] * 5
