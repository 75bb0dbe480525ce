"""Run every file in tests/vectors/cases against `keys` (format: tests/vectors/README.md)."""

from __future__ import annotations

import base64
import hashlib
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from keys import (
    AttachmentRef,
    CodenameError,
    FollowUp,
    HeaderError,
    KeyFormatError,
    MessageError,
    NoIdentityMatch,
    OnlineCertificate,
    OnlineSigningKey,
    PayloadError,
    Reply,
    ReplyKeyPair,
    ReplyPublicKey,
    Report,
    ResponderIdentity,
    ResponderPublicKey,
    SignatureError,
    decode_message,
    decrypt,
    derive_codename,
    normalize_codename,
    verify_reply,
    verify_request,
)
from keys.encoding import decode_key_string
from keys.signatures import request_message

VECTORS = Path(__file__).parents[1] / "vectors"
CASES = sorted([*(VECTORS / "cases").glob("*.txt"), *(VECTORS / "signatures").glob("*.txt")])


@dataclass(frozen=True)
class Vector:
    headers: dict[str, str]
    body: bytes


def read_vector(path: Path) -> Vector:
    head, _, body = path.read_text("ascii").partition("\n\n")
    headers: dict[str, str] = {}
    for line in head.splitlines():
        key, _, value = line.partition(": ")
        assert key not in headers, f"{path.name}: header {key} twice"
        headers[key] = value
    return Vector(headers, base64.b64decode(body.strip(), validate=True))


def test_there_are_enough_vectors() -> None:
    kinds = [read_vector(p).headers["kind"] for p in CASES]
    assert kinds.count("envelope") >= 40
    assert {"codename", "keystring", "message", "signature"} <= set(kinds)


ENVELOPE_ERRORS = {"no match": NoIdentityMatch, "header failure": HeaderError,
                   "payload failure": PayloadError}


def check_envelope(v: Vector) -> None:
    identity: ResponderIdentity | ReplyKeyPair
    if "identity" in v.headers:
        identity = ResponderIdentity.from_secret_string(v.headers["identity"])
    else:
        identity = ReplyKeyPair(bytes.fromhex(v.headers["reply-secret"]))
    out = io.BytesIO()
    expect = v.headers["expect"]
    if expect == "success":
        decrypt(io.BytesIO(v.body), out, identity)
        assert hashlib.sha256(out.getvalue()).hexdigest() == v.headers["payload"]
    else:
        with pytest.raises(ENVELOPE_ERRORS[expect]):
            decrypt(io.BytesIO(v.body), out, identity)
        assert out.getvalue() == b"", "plaintext released from a failed envelope"


def check_codename(v: Vector) -> None:
    typed = v.body.decode("utf-8")
    if v.headers["expect"] == "success":
        assert normalize_codename(typed) == v.headers["normalized"]
        keys = derive_codename(typed)
        assert keys.login_secret.hex() == v.headers["login-secret"]
        assert keys.reply.box_secret.hex() == v.headers["reply-secret"]
        assert keys.reply.public.box_key.hex() == v.headers["reply-pk"]
        assert str(keys.reply.public) == v.headers["reply-key"]
    else:
        assert v.headers["expect"] == "codename failure"
        with pytest.raises(CodenameError) as raised:
            derive_codename(typed)
        if "position" in v.headers:
            assert raised.value.position == int(v.headers["position"])


def parse_key(key_type: str, text: str) -> bytes:
    if key_type == "drop-pub":
        return ResponderPublicKey.parse(text).payload
    if key_type == "drop-reply":
        return ReplyPublicKey.parse(text).box_key
    if key_type == "DROP-SECRET":
        identity = ResponderIdentity.from_secret_string(text)
        return decode_key_string("DROP-SECRET-", identity.to_secret_string(), 64)
    if key_type == "DROP-ONLINE-SECRET":
        key = OnlineSigningKey.from_secret_string(text)
        return decode_key_string("DROP-ONLINE-SECRET-", key.to_secret_string(), 164)
    raise AssertionError(f"unknown key-type {key_type}")


def check_keystring(v: Vector) -> None:
    text = v.body.decode("ascii")
    key_type = v.headers["key-type"]
    if v.headers["expect"] == "success":
        assert parse_key(key_type, text).hex() == v.headers["payload"]
        if key_type == "drop-pub":
            pub = ResponderPublicKey.parse(text)
            assert pub.fingerprint == v.headers["fingerprint"]
            assert str(pub) == text
        if key_type == "DROP-SECRET":
            assert str(ResponderIdentity.from_secret_string(text).public) == v.headers["public"]
    else:
        assert v.headers["expect"] == "key failure"
        with pytest.raises(KeyFormatError):
            parse_key(key_type, text)


def as_json(message: Report | FollowUp | Reply) -> dict[str, object]:
    def refs(items: tuple[AttachmentRef, ...]) -> list[dict[str, object]]:
        return [{"name": a.name, "size": a.size, "media_type": a.media_type,
                 "envelope_sha256": a.envelope_sha256} for a in items]
    if isinstance(message, Report):
        return {"v": 1, "type": "report", "category": message.category,
                "urgency": message.urgency, "text": message.text,
                "reply_key": str(message.reply_key), "lang": message.lang,
                "attachments": refs(message.attachments)}
    if isinstance(message, FollowUp):
        return {"v": 1, "type": "followup", "text": message.text,
                "attachments": refs(message.attachments)}
    return {"v": 1, "type": "reply", "text": message.text, "responder": message.responder}


def check_message(v: Vector) -> None:
    if v.headers["expect"] == "success":
        decoded = as_json(decode_message(v.body))
        if "text-sha256" in v.headers:
            text = decoded["text"]
            assert isinstance(text, str)
            assert hashlib.sha256(text.encode()).hexdigest() == v.headers["text-sha256"]
            decoded["text"] = None
        assert decoded == json.loads(v.headers["decoded"])
    else:
        assert v.headers["expect"] == "message failure"
        with pytest.raises(MessageError):
            decode_message(v.body)


def check_signature(v: Vector) -> None:
    h = v.headers
    kind = h["signature-type"]
    expect = h["expect"]
    assert expect in ("success", "signature failure")
    keyring = [ResponderPublicKey.parse(k) for k in h.get("keyring", "").split(",") if k]
    attempt: Callable[[], object]
    if kind == "reply":
        def attempt() -> object:
            verify_reply(ResponderPublicKey.parse(h["responder"]),
                         ReplyPublicKey.parse(h["reply-key"]), h["envelope-sha256"], v.body)
            return None
    elif kind == "certificate":
        def attempt() -> object:
            try:
                certificate = OnlineCertificate(v.body)
            except KeyFormatError as exc:
                raise SignatureError(str(exc)) from exc
            return certificate.verify(keyring, date.fromisoformat(h["today"]))
    else:
        headers = {k: h[k] for k in ("x-drop-certificate", "x-drop-timestamp", "x-drop-nonce",
                                     "x-drop-signature")}
        if expect == "success":
            assert request_message(h["method"], h["path"], h["body-sha256"],
                                   h["x-drop-timestamp"], h["x-drop-nonce"]) == v.body

        def attempt() -> object:
            return verify_request(headers, h["method"], h["path"], h["body-sha256"], keyring,
                                  date.fromisoformat(h["today"]))
    if expect == "success":
        result = attempt()
        if "responder" in h and kind != "reply":
            assert result == ResponderPublicKey.parse(h["responder"])
    else:
        with pytest.raises(SignatureError):
            attempt()


CHECKS = {"envelope": check_envelope, "signature": check_signature, "codename": check_codename,
          "keystring": check_keystring, "message": check_message}


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_vector(path: Path) -> None:
    vector = read_vector(path)
    assert path.read_text("ascii").startswith("kind: ")
    CHECKS[vector.headers["kind"]](vector)
