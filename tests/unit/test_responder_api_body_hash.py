"""The declared body hash of a streamed upload (FORMAT.md §7, §9) is read strictly.

The request signature covers `body_sha256` as 64 lowercase hex digits; the
`X-Drop-Body-SHA256` header carrying it must be exactly that, so that one
signed request has one spelling (no uppercase, no spaces for `bytes.fromhex`
to skip).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import pytest

import keys
from tests.journalist_support import ApiEnv, new_id, seal

UNAUTHORIZED = b'{"error":"unauthorized"}\n'


def _upload(api: ApiEnv, spell: Callable[[str], str]) -> Any:
    pair = keys.ReplyKeyPair.generate()
    reporter = api.add_reporter(pair.public)
    envelope = seal(b"hello", [pair.public])
    digest = hashlib.sha256(envelope).digest()
    signature = keys.sign_reply(api.identity, pair.public, digest)
    query = urlencode(sorted({
        "reporter_id": reporter, "id": new_id(),
        "signature": base64.b64encode(signature).decode(),
        "responder": api.identity.public.fingerprint}.items()))
    return api.call("POST", f"/api/v1/replies?{query}", body=envelope,
                    headers={"X-Drop-Body-SHA256": spell(digest.hex())})


def test_the_canonical_declared_hash_is_accepted(api: ApiEnv) -> None:
    assert _upload(api, lambda hex_digest: hex_digest).status_code == 201


SPELLINGS: dict[str, Callable[[str], str]] = {
    "uppercase": str.upper,
    "spaced": lambda h: " ".join(h[i:i + 2] for i in range(0, 64, 2)),
    "trailing_space": lambda h: h + " ",
}


@pytest.mark.parametrize("name", sorted(SPELLINGS))
def test_a_non_canonical_declared_hash_gets_the_401(api: ApiEnv, name: str) -> None:
    response = _upload(api, SPELLINGS[name])
    assert (response.status_code, response.data) == (401, UNAUTHORIZED)
    assert list(api.context.store.envelopes_dir.iterdir()) == []
