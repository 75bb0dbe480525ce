"""Prefixed, checksummed base32 key strings (FORMAT.md §3).

    encode(prefix, payload) = prefix || base32(payload || SHA-256(prefix || payload)[0:4])

RFC 4648 base32 without padding; lowercase after a lowercase (public) prefix,
uppercase after an uppercase (secret) prefix. Decoding is strict: one string,
one payload.
"""

from __future__ import annotations

import base64
import hashlib

from keys.errors import KeyFormatError

_CHECKSUM_LEN = 4
_UPPER_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
_LOWER_ALPHABET = frozenset("abcdefghijklmnopqrstuvwxyz234567")
# RFC 4648 base32 digits (either case) to the digits int(..., 32) reads, value for value.
_BASE32_TO_INT_DIGITS = str.maketrans(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567abcdefghijklmnopqrstuvwxyz234567",
    "0123456789abcdefghijklmnopqrstuv0123456789abcdefghijklmnopqrstuv")

# What a person should be told about each prefix when a string is of another kind.
KIND_NAMES = {
    "drop-pub-": "responder public key (drop-pub-…)",
    "DROP-SECRET-": "responder identity (DROP-SECRET-…)",
    "drop-reply-": "reply public key (drop-reply-…)",
    "DROP-ONLINE-SECRET-": "online signing key (DROP-ONLINE-SECRET-…)",
}


def _checksum(prefix: str, payload: bytes) -> bytes:
    return hashlib.sha256(prefix.encode("ascii") + payload).digest()[:_CHECKSUM_LEN]


def _is_secret(prefix: str) -> bool:
    return prefix.isupper()


def encode_key_string(prefix: str, payload: bytes) -> str:
    """Return the key string for `payload` under `prefix` (case follows the prefix)."""
    body = base64.b32encode(payload + _checksum(prefix, payload)).decode("ascii").rstrip("=")
    return prefix + (body if _is_secret(prefix) else body.lower())


def _describe_other_kind(text: str) -> str:
    for prefix, name in KIND_NAMES.items():
        if text.startswith(prefix):
            return f"; this looks like a {name}"
    return ""


def decode_key_string(prefix: str, text: str, payload_len: int) -> bytes:
    """Return the payload of `text`, a key string with `prefix`.

    Raises KeyFormatError, saying which rule failed: wrong prefix, character
    outside the alphabet (of the prefix's case), padding, wrong length,
    non-canonical final character, wrong checksum.
    """
    if not isinstance(text, str):
        raise KeyFormatError("a key string must be text")
    name = KIND_NAMES[prefix]
    if not text.startswith(prefix):
        raise KeyFormatError(
            f"expected a {name}, but the string does not start with {prefix!r}"
            + _describe_other_kind(text)
        )
    body = text[len(prefix):]
    if "=" in body:
        raise KeyFormatError(f"this {name} contains '=' padding, which key strings never have")
    alphabet = _UPPER_ALPHABET if _is_secret(prefix) else _LOWER_ALPHABET
    if not alphabet.issuperset(body):
        index = next(i for i, char in enumerate(body) if char not in alphabet)
        case = "uppercase" if _is_secret(prefix) else "lowercase"
        raise KeyFormatError(
            f"this {name} has a character that does not belong at position "
            f"{len(prefix) + index + 1} (only {case} base32 letters and digits 2-7 are used)"
        )
    raw_len = payload_len + _CHECKSUM_LEN
    expected_chars = (raw_len * 8 + 4) // 5
    if len(body) != expected_chars:
        raise KeyFormatError(
            f"this {name} has {len(body)} characters after the prefix, "
            f"expected {expected_chars}: it was probably cut short or joined with something"
        )
    # The body is now known to be base32 digits only, so int() sees nothing it
    # could read as a sign, space or underscore: this is RFC 4648 decoding in C.
    value = int(body.translate(_BASE32_TO_INT_DIGITS), 32)
    spare_bits = len(body) * 5 - raw_len * 8
    raw = (value >> spare_bits).to_bytes(raw_len, "big")
    payload, checksum = raw[:payload_len], raw[payload_len:]
    if _checksum(prefix, payload) != checksum:
        raise KeyFormatError(
            f"this {name} has a wrong checksum: a character was mistyped or changed")
    if value & ((1 << spare_bits) - 1):
        # The unused low bits of the last character must be zero: exactly one
        # string encodes each key (the encoder's output).
        raise KeyFormatError(f"this {name} is not in canonical form (its last character is wrong)")
    return payload
