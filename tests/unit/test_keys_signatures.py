"""Online-key certificates, reply signatures and API request signatures."""

from __future__ import annotations

import base64
import hashlib
from datetime import date, timedelta

import pytest

from keys import (
    KeyFormatError,
    OnlineCertificate,
    OnlineSigningKey,
    ReplyKeyPair,
    ResponderIdentity,
    SignatureError,
    sign_reply,
    sign_request,
    verify_reply,
    verify_request,
)
from keys.signatures import request_message

ALICE = ResponderIdentity(bytes(32 * [1]), bytes(32 * [2]))
BOB = ResponderIdentity(bytes(32 * [3]), bytes(32 * [4]))
TODAY = date(2026, 11, 24)
ONLINE = OnlineSigningKey.delegate(ALICE, 30, today=TODAY)
REPLY_PK = ReplyKeyPair(bytes(32 * [5])).public
BODY = hashlib.sha256(b'{"x":1}').digest()
NONCE = "abcdefghijklmnop_-0123"


def test_certificate_layout() -> None:
    raw = bytes(ONLINE.certificate)
    assert len(raw) == 132
    assert raw[32:64] == ALICE.public.verify_key
    assert int.from_bytes(raw[64:68], "big") == (TODAY - date(1970, 1, 1)).days + 30
    assert ONLINE.certificate.expiry == TODAY + timedelta(days=30)


def test_certificate_verifies_to_its_responder() -> None:
    assert ONLINE.certificate.verify([BOB.public, ALICE.public], TODAY) == ALICE.public
    assert ONLINE.certificate.verify([ALICE.public], TODAY + timedelta(days=30)) == ALICE.public


@pytest.mark.parametrize("keyring, today, fragment", [
    ([BOB.public], TODAY, "not in this drop's keyring"),
    ([ALICE.public], TODAY + timedelta(days=31), "expired"),
    ([ALICE.public], TODAY - timedelta(days=340), "more than 366 days"),
])
def test_certificate_rejections(keyring: list[object], today: date, fragment: str) -> None:
    with pytest.raises(SignatureError, match=fragment):
        ONLINE.certificate.verify(keyring, today)  # type: ignore[arg-type]


def test_forged_certificate_fails() -> None:
    raw = bytearray(bytes(ONLINE.certificate))
    raw[66] ^= 1  # extend the expiry without the identity's consent
    with pytest.raises(SignatureError, match="signature"):
        OnlineCertificate(bytes(raw)).verify([ALICE.public], TODAY)


def test_certificate_binds_the_x25519_half_too() -> None:
    # A keyring entry with Alice's verify key but another box key must not match.
    from keys import ResponderPublicKey
    impostor = ResponderPublicKey(BOB.public.box_key, ALICE.public.verify_key)
    with pytest.raises(SignatureError):
        ONLINE.certificate.verify([impostor], TODAY)


def test_delegation_days_are_bounded() -> None:
    for days in (0, 367, -1):
        with pytest.raises(ValueError):
            OnlineSigningKey.delegate(ALICE, days)


def test_online_secret_string_round_trips_and_checks_its_certificate() -> None:
    text = ONLINE.to_secret_string()
    assert text.startswith("DROP-ONLINE-SECRET-") and text == text.upper()
    assert OnlineSigningKey.from_secret_string(text) == ONLINE
    assert "DROP-ONLINE" not in repr(ONLINE)
    other = OnlineSigningKey.delegate(ALICE, 1)
    with pytest.raises(KeyFormatError, match="different key"):
        OnlineSigningKey(b"\x00" * 32, other.certificate)


def test_reply_signature_round_trip_and_binding() -> None:
    digest = hashlib.sha256(b"reply envelope").digest()
    sig = sign_reply(ALICE, REPLY_PK, digest)
    verify_reply(ALICE.public, REPLY_PK, digest, sig)
    verify_reply(ALICE.public, REPLY_PK, digest.hex(), sig)
    with pytest.raises(SignatureError):
        verify_reply(BOB.public, REPLY_PK, digest, sig)
    with pytest.raises(SignatureError):
        verify_reply(ALICE.public, ReplyKeyPair(bytes(32 * [6])).public, digest, sig)
    with pytest.raises(SignatureError):
        verify_reply(ALICE.public, REPLY_PK, hashlib.sha256(b"other").digest(), sig)
    with pytest.raises(SignatureError):
        verify_reply(ALICE.public, REPLY_PK, digest, sig[:63])


def test_reply_signature_covers_the_labelled_message() -> None:
    digest = hashlib.sha256(b"e").digest()
    assert sign_reply(ALICE, REPLY_PK, digest) == ALICE.sign(
        b"drop/v1 reply-signature" + REPLY_PK.box_key + digest)


def test_request_message_bytes() -> None:
    assert request_message("POST", "/api/v1/replies?x=1", BODY, 1700000000, NONCE) == (
        b"drop/v1 api-request\nPOST\n/api/v1/replies?x=1\n" + BODY.hex().encode()
        + b"\n1700000000\n" + NONCE.encode())


def signed(method: str = "GET", path: str = "/api/v1/envelopes?after=5") -> dict[str, str]:
    return sign_request(ONLINE, method, path, BODY, 1_764_000_000, NONCE)


def test_request_round_trip_with_any_header_case() -> None:
    headers = {k.lower(): v for k, v in signed().items()}
    assert verify_request(headers, "GET", "/api/v1/envelopes?after=5", BODY,
                          [BOB.public, ALICE.public], TODAY) == ALICE.public


@pytest.mark.parametrize("change", [
    {"method": "POST"}, {"path": "/api/v1/envelopes?after=6"},
    {"body": hashlib.sha256(b"other").digest()},
])
def test_request_signature_covers_method_path_and_body(change: dict[str, object]) -> None:
    args: dict[str, object] = {"method": "GET", "path": "/api/v1/envelopes?after=5",
                               "body": BODY}
    args.update(change)
    with pytest.raises(SignatureError, match="not valid"):
        verify_request(signed(), args["method"], args["path"], args["body"],  # type: ignore[arg-type]
                       [ALICE.public], TODAY)


@pytest.mark.parametrize("header, value", [
    ("X-Drop-Timestamp", "1764000001"), ("X-Drop-Nonce", "abcdefghijklmnop_-0124"),
])
def test_request_signature_covers_timestamp_and_nonce(header: str, value: str) -> None:
    headers = signed() | {header: value}
    with pytest.raises(SignatureError, match="not valid"):
        verify_request(headers, "GET", "/api/v1/envelopes?after=5", BODY, [ALICE.public], TODAY)


@pytest.mark.parametrize("mutate", [
    lambda h: {k: v for k, v in h.items() if k != "X-Drop-Signature"},
    lambda h: h | {"x-drop-nonce": h["X-Drop-Nonce"]},
    lambda h: h | {"X-Drop-Nonce": "short"},
    lambda h: h | {"X-Drop-Timestamp": "-5"},
    lambda h: h | {"X-Drop-Timestamp": "0123"},
    lambda h: h | {"X-Drop-Signature": h["X-Drop-Signature"].rstrip("=")},
    lambda h: h | {"X-Drop-Certificate": base64.b64encode(b"x" * 131).decode()},
    lambda h: h | {"X-Drop-Certificate": "!!!"},
])
def test_malformed_request_headers_are_signature_errors(mutate: object) -> None:
    headers = mutate(signed())  # type: ignore[operator]
    with pytest.raises(SignatureError):
        verify_request(headers, "GET", "/api/v1/envelopes?after=5", BODY, [ALICE.public], TODAY)


def test_request_from_unknown_or_expired_delegation_fails() -> None:
    with pytest.raises(SignatureError, match="keyring"):
        verify_request(signed(), "GET", "/api/v1/envelopes?after=5", BODY, [BOB.public], TODAY)
    with pytest.raises(SignatureError, match="expired"):
        verify_request(signed(), "GET", "/api/v1/envelopes?after=5", BODY, [ALICE.public],
                       TODAY + timedelta(days=31))


@pytest.mark.parametrize("args", [
    ("get", "/x", BODY, 1, NONCE), ("GET", "x", BODY, 1, NONCE), ("GET", "/a b", BODY, 1, NONCE),
    ("GET", "/x", b"short", 1, NONCE), ("GET", "/x", BODY, -1, NONCE),
    ("GET", "/x", BODY, 1, "bad nonce with spaces"), ("GET", "/x", BODY, True, NONCE),
])
def test_sign_request_refuses_fields_outside_the_grammar(args: tuple[object, ...]) -> None:
    with pytest.raises(ValueError):
        sign_request(ONLINE, *args)  # type: ignore[arg-type]
