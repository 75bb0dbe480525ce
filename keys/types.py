"""Key types: responder identities and public keys, reporter reply keys.

Every type is immutable and compares by value; `repr` never shows secret
bytes. Secret halves have no `__str__` that reveals them: their string form
comes only from an explicitly named method.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from typing import Final

from nacl.bindings import crypto_scalarmult_base
from nacl.signing import SigningKey

from keys.encoding import decode_key_string, encode_key_string
from keys.errors import KeyFormatError

PUBLIC_PREFIX: Final = "drop-pub-"
SECRET_PREFIX: Final = "DROP-SECRET-"  # noqa: S105 (a prefix, not a password)
REPLY_PREFIX: Final = "drop-reply-"
_FINGERPRINT_LABEL: Final = b"drop/v1 fingerprint"

# libsodium's blocklist of X25519 public keys of small order (compared with
# the top bit of the last byte ignored). A shared secret with any of them is
# all zeros, whatever the secret key: such a key is never a real recipient.
_SMALL_ORDER_POINTS: Final = tuple(bytes.fromhex(h) for h in (
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0100000000000000000000000000000000000000000000000000000000000000",
    "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
    "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
))


def is_small_order(x25519_pk: bytes) -> bool:
    """True when `x25519_pk` is one of the small-order points (top bit ignored)."""
    candidate = x25519_pk[:31] + bytes([x25519_pk[31] & 0x7F])
    return any(hmac.compare_digest(candidate, point) for point in _SMALL_ORDER_POINTS)


def _check_x25519_public(pk: bytes, what: str) -> bytes:
    if not isinstance(pk, bytes) or len(pk) != 32:
        raise KeyFormatError(f"{what} must be 32 bytes")
    if is_small_order(pk):
        raise KeyFormatError(f"{what} is a small-order X25519 point; no real key looks like this")
    return pk


class ResponderPublicKey:
    """A responder's public key: X25519 (encrypt to) and Ed25519 (verify)."""

    __slots__ = ("_box_key", "_verify_key")
    _box_key: bytes
    _verify_key: bytes

    def __init__(self, box_key: bytes, verify_key: bytes) -> None:
        """Raises KeyFormatError for wrong lengths or a small-order X25519 key."""
        if not isinstance(verify_key, bytes) or len(verify_key) != 32:
            raise KeyFormatError("the Ed25519 verify key must be 32 bytes")
        object.__setattr__(self, "_box_key", _check_x25519_public(box_key, "the X25519 key"))
        object.__setattr__(self, "_verify_key", verify_key)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("ResponderPublicKey is immutable")

    @classmethod
    def parse(cls, text: str) -> ResponderPublicKey:
        """Parse a `drop-pub-…` string; raises KeyFormatError saying what is wrong."""
        payload = decode_key_string(PUBLIC_PREFIX, text, 64)
        return cls(payload[:32], payload[32:])

    @property
    def box_key(self) -> bytes:
        """The X25519 public key (32 bytes) envelopes are sealed to."""
        return self._box_key

    @property
    def verify_key(self) -> bytes:
        """The Ed25519 verify key (32 bytes)."""
        return self._verify_key

    @property
    def payload(self) -> bytes:
        """The 64 bytes of the `drop-pub-` string: box_key || verify_key."""
        return self._box_key + self._verify_key

    @property
    def fingerprint(self) -> str:
        """20 uppercase hex digits in 5 groups of 4, for people to compare."""
        digest = hashlib.sha256(_FINGERPRINT_LABEL + self.payload).hexdigest()[:20].upper()
        return " ".join(digest[i:i + 4] for i in range(0, 20, 4))

    def __str__(self) -> str:
        return encode_key_string(PUBLIC_PREFIX, self.payload)

    def __repr__(self) -> str:
        return f"ResponderPublicKey({self.fingerprint!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ResponderPublicKey) and self.payload == other.payload

    def __hash__(self) -> int:
        return hash((ResponderPublicKey, self.payload))


class ResponderIdentity:
    """A responder's secret identity: X25519 secret key and Ed25519 seed.

    Lives on the air-gapped workstation. Save it with `keys.identity_file`
    (`save` / `load`), never as a plain string on disk.
    """

    __slots__ = ("_box_secret", "_public", "_signing_key")
    _box_secret: bytes
    _signing_key: SigningKey
    _public: ResponderPublicKey

    def __init__(self, box_secret: bytes, signing_seed: bytes) -> None:
        """Raises KeyFormatError when either half is not 32 bytes."""
        if not isinstance(box_secret, bytes) or len(box_secret) != 32:
            raise KeyFormatError("the X25519 secret key must be 32 bytes")
        if not isinstance(signing_seed, bytes) or len(signing_seed) != 32:
            raise KeyFormatError("the Ed25519 seed must be 32 bytes")
        signing_key = SigningKey(signing_seed)
        public = ResponderPublicKey(crypto_scalarmult_base(box_secret),
                                    bytes(signing_key.verify_key))
        object.__setattr__(self, "_box_secret", box_secret)
        object.__setattr__(self, "_signing_key", signing_key)
        object.__setattr__(self, "_public", public)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("ResponderIdentity is immutable")

    @classmethod
    def generate(cls) -> ResponderIdentity:
        """A fresh identity from the operating system's CSPRNG."""
        return cls(secrets.token_bytes(32), secrets.token_bytes(32))

    @classmethod
    def from_secret_string(cls, text: str) -> ResponderIdentity:
        """Parse a `DROP-SECRET-…` string; raises KeyFormatError."""
        payload = decode_key_string(SECRET_PREFIX, text, 64)
        return cls(payload[:32], payload[32:])

    def to_secret_string(self) -> str:
        """The `DROP-SECRET-…` string. It IS the identity: never store it in clear."""
        return encode_key_string(SECRET_PREFIX, self._box_secret + bytes(self._signing_key))

    @property
    def public(self) -> ResponderPublicKey:
        return self._public

    @property
    def box_secret(self) -> bytes:
        """The X25519 secret key, for opening envelope stanzas."""
        return self._box_secret

    def sign(self, message: bytes) -> bytes:
        """A 64-byte Ed25519 signature of `message` (callers prefix a drop/v1 label)."""
        return bytes(self._signing_key.sign(message).signature)

    def save(self, path: str | os.PathLike[str], passphrase: str) -> None:
        """Write this identity to `path` under `passphrase` (see `keys.identity_file`)."""
        from keys.identity_file import save_identity  # identity_file imports this module

        save_identity(self, path, passphrase)

    @classmethod
    def load(cls, path: str | os.PathLike[str], passphrase: str) -> ResponderIdentity:
        """Read an identity file; raises KeyFormatError or PassphraseError."""
        from keys.identity_file import load_identity

        return load_identity(path, passphrase)

    def __repr__(self) -> str:
        return f"ResponderIdentity(public={self._public.fingerprint!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ResponderIdentity) and hmac.compare_digest(
            self._box_secret + bytes(self._signing_key),
            other._box_secret + bytes(other._signing_key))

    def __hash__(self) -> int:
        return hash((ResponderIdentity, self._public.payload))


class ReplyPublicKey:
    """A reporter's reply public key (X25519), as `drop-reply-…`."""

    __slots__ = ("_key",)
    _key: bytes

    def __init__(self, key: bytes) -> None:
        """Raises KeyFormatError for a wrong length or a small-order point."""
        object.__setattr__(self, "_key", _check_x25519_public(key, "the reply key"))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("ReplyPublicKey is immutable")

    @classmethod
    def parse(cls, text: str) -> ReplyPublicKey:
        """Parse a `drop-reply-…` string; raises KeyFormatError."""
        return cls(decode_key_string(REPLY_PREFIX, text, 32))

    @property
    def box_key(self) -> bytes:
        """The X25519 public key (32 bytes)."""
        return self._key

    def __str__(self) -> str:
        return encode_key_string(REPLY_PREFIX, self._key)

    def __repr__(self) -> str:
        return f"ReplyPublicKey({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ReplyPublicKey) and self._key == other._key

    def __hash__(self) -> int:
        return hash((ReplyPublicKey, self._key))


class ReplyKeyPair:
    """A reporter's reply key pair. Its secret is derived from the codename."""

    __slots__ = ("_public", "_secret")
    _secret: bytes
    _public: ReplyPublicKey

    def __init__(self, secret: bytes) -> None:
        """`secret` (32 bytes) is used directly as the X25519 secret key."""
        if not isinstance(secret, bytes) or len(secret) != 32:
            raise KeyFormatError("the reply secret key must be 32 bytes")
        object.__setattr__(self, "_secret", secret)
        object.__setattr__(self, "_public", ReplyPublicKey(crypto_scalarmult_base(secret)))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("ReplyKeyPair is immutable")

    @classmethod
    def generate(cls) -> ReplyKeyPair:
        return cls(secrets.token_bytes(32))

    @property
    def public(self) -> ReplyPublicKey:
        return self._public

    @property
    def box_secret(self) -> bytes:
        """The X25519 secret key, for opening envelope stanzas."""
        return self._secret

    def __repr__(self) -> str:
        return f"ReplyKeyPair(public={str(self._public)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ReplyKeyPair) and hmac.compare_digest(self._secret, other._secret)

    def __hash__(self) -> int:
        return hash((ReplyKeyPair, self._public.box_key))
