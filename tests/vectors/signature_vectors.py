"""Signature vectors (FORMAT.md §6.1, §6.2, §7). Ed25519 is deterministic."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from datetime import date

from envelope_vectors import ALICE, BOB, REPLY, Case, det
from nacl import bindings as sodium
from nacl.signing import SigningKey

from keys.online import OnlineCertificate

TODAY = date(2026, 11, 24)
EXPIRY = date(2026, 12, 24)
ONLINE_SEED = det("signature vectors online seed")
ONLINE_PK = sodium.crypto_sign_seed_keypair(ONLINE_SEED)[0]
CERTIFICATE = bytes(OnlineCertificate.issue(ALICE, ONLINE_PK, EXPIRY))
KEYRING = f"{BOB.public},{ALICE.public}"


def reply_case(name: str, expect: str, signature: bytes, comment: str, *,
               responder: str = str(ALICE.public), digest: bytes | None = None) -> Case:
    envelope_sha256 = digest or hashlib.sha256(b"reply envelope").digest()
    return (name, [("expect", expect), ("signature-type", "reply"), ("responder", responder),
                   ("reply-key", str(REPLY.public)), ("envelope-sha256", envelope_sha256.hex()),
                   ("comment", comment)], signature)


def certificate_case(name: str, expect: str, certificate: bytes, comment: str, *,
                     today: date = TODAY, keyring: str = KEYRING) -> Case:
    headers = [("expect", expect), ("signature-type", "certificate"), ("keyring", keyring),
               ("today", today.isoformat())]
    if expect == "success":
        headers.append(("responder", str(ALICE.public)))
    return (name, [*headers, ("comment", comment)], certificate)


def request_case(name: str, expect: str, comment: str, *, sign_path: str = "/api/v1/envelopes",
                 path: str = "/api/v1/envelopes", today: date = TODAY,
                 nonce: str = "Q2hhbmdlIG1lIHBsZWFzZQ", seed: bytes = ONLINE_SEED,
                 certificate: bytes = CERTIFICATE) -> Case:
    body_sha256 = hashlib.sha256(b"").hexdigest()
    message = "\n".join(("drop/v1 api-request", "GET", sign_path, body_sha256,
                         "1795996800", nonce)).encode()
    signature = bytes(SigningKey(seed).sign(message).signature)
    headers = [("expect", expect), ("signature-type", "request"), ("method", "GET"),
               ("path", path), ("body-sha256", body_sha256), ("keyring", KEYRING),
               ("today", today.isoformat()),
               ("x-drop-certificate", base64.b64encode(certificate).decode()),
               ("x-drop-timestamp", "1795996800"), ("x-drop-nonce", nonce),
               ("x-drop-signature", base64.b64encode(signature).decode())]
    if expect == "success":
        headers.append(("responder", str(ALICE.public)))
    return (name, [*headers, ("comment", comment)], message)


def signature_cases() -> Iterator[Case]:
    digest = hashlib.sha256(b"reply envelope").digest()
    good = ALICE.sign(b"drop/v1 reply-signature" + REPLY.public.box_key + digest)
    yield reply_case("reply_good", "success", good, "a reply signature by the responder")
    yield reply_case("reply_other_responder", "signature failure", good,
                     "checked against another responder", responder=str(BOB.public))
    yield reply_case("reply_other_envelope", "signature failure", good,
                     "the envelope hash differs", digest=hashlib.sha256(b"other").digest())
    yield reply_case("reply_flipped", "signature failure", bytes([good[0] ^ 1]) + good[1:],
                     "one bit of the signature flipped")
    yield reply_case("reply_short", "signature failure", good[:63], "63-byte signature")
    yield reply_case("reply_unlabelled", "signature failure",
                     ALICE.sign(REPLY.public.box_key + digest), "signed without the label")

    yield certificate_case("certificate_good", "success", CERTIFICATE,
                           "valid, 30 days before expiry; the issuer is second in the keyring")
    yield certificate_case("certificate_last_day", "success", CERTIFICATE,
                           "valid on its expiry day", today=EXPIRY)
    yield certificate_case("certificate_expired", "signature failure", CERTIFICATE,
                           "the day after expiry", today=date(2026, 12, 25))
    yield certificate_case("certificate_too_long", "signature failure", CERTIFICATE,
                           "expiry more than 366 days ahead", today=date(2025, 12, 22))
    yield certificate_case("certificate_unknown_responder", "signature failure", CERTIFICATE,
                           "the issuer is not in the keyring", keyring=str(BOB.public))
    forged = CERTIFICATE[:67] + bytes([CERTIFICATE[67] + 1]) + CERTIFICATE[68:]
    yield certificate_case("certificate_forged_expiry", "signature failure", forged,
                           "expiry day changed after signing")
    yield certificate_case("certificate_short", "signature failure", CERTIFICATE[:131],
                           "131 bytes")

    yield request_case("request_good", "success", "a signed GET with an empty body")
    yield request_case("request_with_query", "success", "the query is part of the path",
                       sign_path="/api/v1/envelopes?after=12", path="/api/v1/envelopes?after=12")
    yield request_case("request_other_path", "signature failure", "signed for another path",
                       sign_path="/api/v1/envelopes?after=12")
    yield request_case("request_expired_key", "signature failure", "online key expired",
                       today=date(2027, 1, 1))
    yield request_case("request_other_online_key", "signature failure",
                       "signed by a key the certificate does not delegate",
                       seed=det("not the online seed"))
    yield request_case("request_short_nonce", "signature failure",
                       "a 15-character nonce", nonce="abcdefghijklmno")
