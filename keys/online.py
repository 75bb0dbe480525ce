"""Online signing keys: a day-limited Ed25519 key delegated by a responder identity.

The identity stays air-gapped; the online key lives on the networked machine
and signs API requests. Its certificate (FORMAT.md §6.1) lets the server,
which holds only `drop-pub-` keys, check the delegation and learn which
responder it speaks for.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Final

from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

from keys.encoding import decode_key_string, encode_key_string
from keys.errors import KeyFormatError, SignatureError
from keys.types import ResponderIdentity, ResponderPublicKey

ONLINE_PREFIX: Final = "DROP-ONLINE-SECRET-"
CERTIFICATE_LABEL: Final = b"drop/v1 online-certificate"
CERTIFICATE_LEN: Final = 132
MAX_DELEGATION_DAYS: Final = 366
_EPOCH: Final = date(1970, 1, 1)


def _day_number(day: date) -> int:
    return (day - _EPOCH).days


def _utc_today() -> date:
    return datetime.now(UTC).date()


def _signed_part(online_key: bytes, responder: ResponderPublicKey, expiry_day: int) -> bytes:
    return CERTIFICATE_LABEL + online_key + responder.payload + expiry_day.to_bytes(4, "big")


class OnlineCertificate:
    """online_key(32) || responder_verify_key(32) || expiry_day u32be || signature(64)."""

    __slots__ = ("_raw",)
    _raw: bytes

    def __init__(self, raw: bytes) -> None:
        """Raises KeyFormatError when `raw` is not 132 bytes. Does not verify."""
        if not isinstance(raw, bytes) or len(raw) != CERTIFICATE_LEN:
            raise KeyFormatError(f"an online-key certificate is exactly {CERTIFICATE_LEN} bytes")
        object.__setattr__(self, "_raw", raw)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("OnlineCertificate is immutable")

    @classmethod
    def issue(cls, identity: ResponderIdentity, online_key: bytes,
              expiry: date) -> OnlineCertificate:
        """Sign a delegation of `online_key` (Ed25519, 32 bytes) valid through `expiry`."""
        day = _day_number(expiry)
        if not 0 <= day < 2**32:
            raise ValueError("the expiry day is outside the format's range")
        signature = identity.sign(_signed_part(online_key, identity.public, day))
        return cls(online_key + identity.public.verify_key + day.to_bytes(4, "big") + signature)

    @property
    def online_key(self) -> bytes:
        """The delegated Ed25519 verify key."""
        return self._raw[:32]

    @property
    def responder_verify_key(self) -> bytes:
        """The Ed25519 verify key of the responder who signed this certificate."""
        return self._raw[32:64]

    @property
    def expiry(self) -> date:
        """The last day (UTC) on which the certificate is valid."""
        return _EPOCH + timedelta(days=int.from_bytes(self._raw[64:68], "big"))

    @property
    def signature(self) -> bytes:
        return self._raw[68:]

    def __bytes__(self) -> bytes:
        return self._raw

    def verify(self, keyring: Sequence[ResponderPublicKey], today: date) -> ResponderPublicKey:
        """Return the keyring entry that issued this certificate.

        Raises SignatureError when no keyring key has the certificate's verify
        key, when the signature does not verify, when `today` is after the
        expiry day, or when the expiry is more than 366 days after `today`.
        """
        issuer = next((k for k in keyring
                       if hmac.compare_digest(k.verify_key, self.responder_verify_key)), None)
        if issuer is None:
            raise SignatureError(
                "this online key was delegated by a responder who is not in this drop's keyring")
        day = int.from_bytes(self._raw[64:68], "big")
        try:
            VerifyKey(issuer.verify_key).verify(
                _signed_part(self.online_key, issuer, day), self.signature)
        except BadSignatureError:
            raise SignatureError(
                "the online-key certificate's signature is not valid for its responder") from None
        today_number = _day_number(today)
        if today_number > day:
            raise SignatureError(
                f"this online key expired on {self.expiry.isoformat()}; "
                "delegate a new one from the offline identity")
        if day - today_number > MAX_DELEGATION_DAYS:
            raise SignatureError("this online key's certificate claims to be valid for more "
                                 f"than {MAX_DELEGATION_DAYS} days; it is refused")
        return issuer

    def __repr__(self) -> str:
        return f"OnlineCertificate(expiry={self.expiry.isoformat()!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, OnlineCertificate) and self._raw == other._raw

    def __hash__(self) -> int:
        return hash((OnlineCertificate, self._raw))


class OnlineSigningKey:
    """An Ed25519 signing key plus the certificate that delegates it."""

    __slots__ = ("_certificate", "_signing_key")
    _signing_key: SigningKey
    _certificate: OnlineCertificate

    def __init__(self, seed: bytes, certificate: OnlineCertificate) -> None:
        """Raises KeyFormatError when the certificate is for another key."""
        if not isinstance(seed, bytes) or len(seed) != 32:
            raise KeyFormatError("the online key's Ed25519 seed must be 32 bytes")
        signing_key = SigningKey(seed)
        if not hmac.compare_digest(bytes(signing_key.verify_key), certificate.online_key):
            raise KeyFormatError("this online key's certificate was issued for a different key")
        object.__setattr__(self, "_signing_key", signing_key)
        object.__setattr__(self, "_certificate", certificate)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("OnlineSigningKey is immutable")

    @classmethod
    def delegate(cls, identity: ResponderIdentity, days: int, *,
                 today: date | None = None) -> OnlineSigningKey:
        """A fresh online key valid from today (UTC) through today + `days`.

        Raises ValueError unless 1 <= days <= 366.
        """
        if isinstance(days, bool) or not isinstance(days, int) \
                or not 1 <= days <= MAX_DELEGATION_DAYS:
            raise ValueError(f"an online key can be delegated for 1 to {MAX_DELEGATION_DAYS} days")
        seed = secrets.token_bytes(32)
        expiry = (today or _utc_today()) + timedelta(days=days)
        online_key = bytes(SigningKey(seed).verify_key)
        return cls(seed, OnlineCertificate.issue(identity, online_key, expiry))

    @classmethod
    def from_secret_string(cls, text: str) -> OnlineSigningKey:
        """Parse a `DROP-ONLINE-SECRET-…` string; raises KeyFormatError."""
        payload = decode_key_string(ONLINE_PREFIX, text, 32 + CERTIFICATE_LEN)
        return cls(payload[:32], OnlineCertificate(payload[32:]))

    def to_secret_string(self) -> str:
        """The `DROP-ONLINE-SECRET-…` string (secret: keep it out of logs)."""
        return encode_key_string(ONLINE_PREFIX, bytes(self._signing_key) + bytes(self._certificate))

    @property
    def certificate(self) -> OnlineCertificate:
        return self._certificate

    def sign(self, message: bytes) -> bytes:
        """A 64-byte Ed25519 signature of `message`."""
        return bytes(self._signing_key.sign(message).signature)

    def __repr__(self) -> str:
        return f"OnlineSigningKey(expiry={self._certificate.expiry.isoformat()!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, OnlineSigningKey) and hmac.compare_digest(
            bytes(self._signing_key), bytes(other._signing_key)) \
            and self._certificate == other._certificate

    def __hash__(self) -> int:
        return hash((OnlineSigningKey, bytes(self._certificate)))
