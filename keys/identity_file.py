"""Responder identity files (FORMAT.md §6.3): the identity sealed under a passphrase.

    file = "DROPKEY" || 0x01 || salt(16) || nonce(24) || secretbox(64-byte identity)
    key  = Argon2id(NFC(passphrase) as UTF-8, salt, opslimit=3, memlimit=64 MiB, 32 bytes)

Parameters are fixed by the format so that no file can be weakened by an option.
"""

from __future__ import annotations

import os
import secrets
import unicodedata
from pathlib import Path
from typing import Final

from nacl import bindings as sodium
from nacl.exceptions import CryptoError
from nacl.pwhash import argon2id

from keys.atomic_file import private_temp_file, publish
from keys.encoding import decode_key_string
from keys.errors import KeyFormatError, PassphraseError
from keys.types import SECRET_PREFIX, ResponderIdentity

MAGIC: Final = b"DROPKEY"
VERSION: Final = 1
SALT_LEN: Final = 16
NONCE_LEN: Final = 24
OPSLIMIT: Final = 3
MEMLIMIT: Final = 64 * 1024 * 1024
FILE_LEN: Final = len(MAGIC) + 1 + SALT_LEN + NONCE_LEN + 64 + 16


def _file_key(passphrase: str, salt: bytes) -> bytes:
    if not isinstance(passphrase, str) or not passphrase:
        raise PassphraseError("an identity file needs a non-empty passphrase")
    secret = unicodedata.normalize("NFC", passphrase).encode("utf-8")
    return argon2id.kdf(32, secret, salt, opslimit=OPSLIMIT, memlimit=MEMLIMIT)


def seal_identity(identity: ResponderIdentity, passphrase: str) -> bytes:
    """The identity-file bytes for `identity` under `passphrase` (fresh salt and nonce)."""
    salt = secrets.token_bytes(SALT_LEN)
    nonce = secrets.token_bytes(NONCE_LEN)
    payload = decode_key_string(SECRET_PREFIX, identity.to_secret_string(), 64)
    box = sodium.crypto_secretbox(payload, nonce, _file_key(passphrase, salt))
    return MAGIC + bytes([VERSION]) + salt + nonce + box


def open_identity(data: bytes, passphrase: str) -> ResponderIdentity:
    """Open identity-file bytes. Raises KeyFormatError for a file that is not
    an identity file, PassphraseError for a wrong passphrase or damage."""
    if len(data) != FILE_LEN or not data.startswith(MAGIC):
        raise KeyFormatError("this is not a drop identity file")
    if data[len(MAGIC)] != VERSION:
        raise KeyFormatError(f"identity file version {data[len(MAGIC)]} is not supported")
    offset = len(MAGIC) + 1
    salt = data[offset:offset + SALT_LEN]
    nonce = data[offset + SALT_LEN:offset + SALT_LEN + NONCE_LEN]
    box = data[offset + SALT_LEN + NONCE_LEN:]
    try:
        payload = sodium.crypto_secretbox_open(box, nonce, _file_key(passphrase, salt))
    except CryptoError:
        raise PassphraseError(
            "the identity file did not open: wrong passphrase, or the file is damaged") from None
    return ResponderIdentity(payload[:32], payload[32:])


def save_identity(identity: ResponderIdentity, path: str | os.PathLike[str],
                  passphrase: str) -> None:
    """Write the identity file at `path`, mode 0600, atomically (temp, fsync, link).

    Raises FileExistsError rather than replace an existing file: losing an
    identity loses every report sealed to it.
    """
    target = Path(path)
    if target.exists():
        raise FileExistsError(f"{target} already exists; not overwriting an identity")
    data = seal_identity(identity, passphrase)
    fd, temp = private_temp_file(target.parent, ".drop-identity-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        publish(temp, target, overwrite=False)
    finally:
        temp.unlink(missing_ok=True)


def load_identity(path: str | os.PathLike[str], passphrase: str) -> ResponderIdentity:
    """Read and open the identity file at `path` (errors as `open_identity`)."""
    with open(path, "rb") as handle:
        data = handle.read(FILE_LEN + 1)
    return open_identity(data, passphrase)
