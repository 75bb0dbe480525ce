"""HKDF-SHA256 (RFC 5869) on the standard library, with the drop's labels."""

from __future__ import annotations

import hmac

_HASH_LEN = 32


def hkdf_sha256(ikm: bytes, salt: bytes, info: bytes, length: int) -> bytes:
    """Return `length` bytes of HKDF-SHA256(ikm, salt, info).

    An empty salt is treated as 32 zero bytes (RFC 5869 §2.2; HMAC's own
    zero-padding makes the two identical). Raises ValueError for a length
    outside 1..8160.
    """
    if not 0 < length <= 255 * _HASH_LEN:
        raise ValueError("HKDF output length must be between 1 and 8160 bytes")
    prk = hmac.digest(salt or bytes(_HASH_LEN), ikm, "sha256")
    blocks: list[bytes] = []
    previous = b""
    for counter in range(1, -(-length // _HASH_LEN) + 1):
        previous = hmac.digest(prk, previous + info + bytes([counter]), "sha256")
        blocks.append(previous)
    return b"".join(blocks)[:length]


def hmac_sha256(key: bytes, message: bytes) -> bytes:
    """Return HMAC-SHA256(key, message)."""
    return hmac.digest(key, message, "sha256")
