"""Reply signatures and responder-API request signatures (FORMAT.md §6, §7)."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Final

from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

from keys.errors import KeyFormatError, SignatureError
from keys.online import OnlineCertificate, OnlineSigningKey
from keys.types import ReplyPublicKey, ResponderIdentity, ResponderPublicKey

REPLY_LABEL: Final = b"drop/v1 reply-signature"
REQUEST_LABEL: Final = "drop/v1 api-request"
CERTIFICATE_HEADER: Final = "X-Drop-Certificate"
TIMESTAMP_HEADER: Final = "X-Drop-Timestamp"
NONCE_HEADER: Final = "X-Drop-Nonce"
SIGNATURE_HEADER: Final = "X-Drop-Signature"
# The server's freshness window and nonce shape (it enforces both, see §7).
MAX_CLOCK_SKEW_SECONDS: Final = 300
_NONCE: Final = re.compile(r"[A-Za-z0-9_-]{16,64}")
_METHOD: Final = re.compile(r"[A-Z]{1,16}")
_PATH: Final = re.compile(r"/[\x21-\x7e]*")
_TIMESTAMP: Final = re.compile(r"0|[1-9][0-9]{0,15}")


def _digest_bytes(value: bytes | str, what: str) -> bytes:
    """Accept a SHA-256 digest as 32 bytes or 64 lowercase hex digits."""
    if isinstance(value, str):
        if not re.fullmatch(r"[0-9a-f]{64}", value):
            raise ValueError(f"{what} must be 64 lowercase hex digits")
        return bytes.fromhex(value)
    if isinstance(value, bytes) and len(value) == 32:
        return value
    raise ValueError(f"{what} must be 32 bytes (or 64 lowercase hex digits)")


def _reply_message(reply_pk: ReplyPublicKey, envelope_sha256: bytes | str) -> bytes:
    if not isinstance(reply_pk, ReplyPublicKey):
        raise TypeError("reply_pk must be a ReplyPublicKey")
    return REPLY_LABEL + reply_pk.box_key + _digest_bytes(envelope_sha256, "envelope_sha256")


def sign_reply(identity: ResponderIdentity, reply_pk: ReplyPublicKey,
               envelope_sha256: bytes | str) -> bytes:
    """Sign that `identity` sent the reply envelope with this SHA-256 to `reply_pk`."""
    return identity.sign(_reply_message(reply_pk, envelope_sha256))


def verify_reply(pubkey: ResponderPublicKey, reply_pk: ReplyPublicKey,
                 envelope_sha256: bytes | str, sig: bytes) -> None:
    """Return if `sig` is `pubkey`'s reply signature; raise SignatureError otherwise."""
    if not isinstance(sig, bytes) or len(sig) != 64:
        raise SignatureError("a reply signature is 64 bytes")
    try:
        VerifyKey(pubkey.verify_key).verify(_reply_message(reply_pk, envelope_sha256), sig)
    except BadSignatureError:
        raise SignatureError("the reply's signature is not valid for this responder") from None


def request_message(method: str, path: str, body_sha256: bytes | str, timestamp: int | str,
                    nonce: str) -> bytes:
    """The exact bytes an API request signature covers (FORMAT.md §7).

    Raises ValueError for a field outside its grammar.
    """
    if not isinstance(method, str) or not _METHOD.fullmatch(method):
        raise ValueError("method must be an uppercase HTTP method such as 'GET'")
    if not isinstance(path, str) or not _PATH.fullmatch(path):
        raise ValueError("path must start with '/' and be printable ASCII without spaces")
    stamp = str(timestamp)
    if isinstance(timestamp, bool) or not _TIMESTAMP.fullmatch(stamp):
        raise ValueError("timestamp must be a non-negative integer of seconds")
    if not isinstance(nonce, str) or not _NONCE.fullmatch(nonce):
        raise ValueError("nonce must be 16 to 64 of A-Z a-z 0-9 '_' '-'")
    digest = _digest_bytes(body_sha256, "body_sha256").hex()
    return "\n".join((REQUEST_LABEL, method, path, digest, stamp, nonce)).encode("ascii")


def sign_request(key: OnlineSigningKey, method: str, path: str, body_sha256: bytes | str,
                 timestamp: int, nonce: str) -> dict[str, str]:
    """The four X-Drop-* headers that authenticate one responder-API request."""
    signature = key.sign(request_message(method, path, body_sha256, timestamp, nonce))
    return {
        CERTIFICATE_HEADER: base64.b64encode(bytes(key.certificate)).decode("ascii"),
        TIMESTAMP_HEADER: str(timestamp),
        NONCE_HEADER: nonce,
        SIGNATURE_HEADER: base64.b64encode(signature).decode("ascii"),
    }


def _header(headers: Mapping[str, str], name: str) -> str:
    wanted = name.lower()
    values = [v for k, v in headers.items() if k.lower() == wanted]
    if len(values) != 1:
        raise SignatureError(f"the request needs exactly one {name} header")
    return values[0]


def _base64(value: str, name: str, length: int) -> bytes:
    try:
        raw = base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise SignatureError(f"the {name} header is not valid base64") from None
    if len(raw) != length or base64.b64encode(raw).decode("ascii") != value:
        raise SignatureError(f"the {name} header must be canonical base64 of {length} bytes")
    return raw


def verify_request(headers: Mapping[str, str], method: str, path: str,
                   body_sha256: bytes | str, keyring: Sequence[ResponderPublicKey],
                   today: date) -> ResponderPublicKey:
    """Check a request's certificate and signature; return the responder it speaks for.

    Does not check freshness or replay (the server does: timestamp within
    ±300 s, nonce unseen). Raises SignatureError.
    """
    try:
        certificate = OnlineCertificate(
            _base64(_header(headers, CERTIFICATE_HEADER), CERTIFICATE_HEADER, 132))
    except KeyFormatError as exc:
        raise SignatureError(str(exc)) from None
    signature = _base64(_header(headers, SIGNATURE_HEADER), SIGNATURE_HEADER, 64)
    try:
        message = request_message(method, path, body_sha256,
                                  _header(headers, TIMESTAMP_HEADER),
                                  _header(headers, NONCE_HEADER))
    except ValueError as exc:
        raise SignatureError(f"the request is malformed: {exc}") from None
    responder = certificate.verify(keyring, today)
    try:
        VerifyKey(certificate.online_key).verify(message, signature)
    except BadSignatureError:
        raise SignatureError("the request signature is not valid") from None
    return responder
