"""Sealed envelopes (FORMAT.md §2): a multi-recipient header and a chunked payload.

Streaming in both directions with memory bounded by one or two 64 KiB chunks.
Decryption never hands unauthenticated plaintext to the caller: plaintext is
staged in a private spool (memory up to 1 MiB, then an unnamed temp file) or,
for `decrypt_to_path`, in a temp file next to the target that is renamed only
after the FINAL chunk verified.
"""

from __future__ import annotations

import hmac
import os
import secrets
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Final, Protocol

from nacl import bindings as sodium
from nacl.exceptions import CryptoError

from keys.atomic_file import private_temp_file, publish
from keys.errors import HeaderError, KeysError, NoIdentityMatch, PayloadError
from keys.kdf import hkdf_sha256, hmac_sha256
from keys.types import ReplyKeyPair, ReplyPublicKey, ResponderIdentity, ResponderPublicKey

Recipient = ResponderPublicKey | ReplyPublicKey
Identity = ResponderIdentity | ReplyKeyPair


class ByteSource(Protocol):
    """What envelopes are read from: a binary file or anything with `read(n)`."""

    def read(self, size: int, /) -> bytes: ...


class ByteSink(Protocol):
    """What envelopes and plaintext are written to: anything with `write(bytes)`."""

    def write(self, data: bytes, /) -> object: ...


MAGIC: Final = b"DROPENV"
VERSION: Final = 1
MAX_RECIPIENTS: Final = 32
STANZA_LEN: Final = 80
MAC_LEN: Final = 32
CHUNK_SIZE: Final = 65536
_ABYTES: Final = sodium.crypto_secretstream_xchacha20poly1305_ABYTES
_SS_HEADER_LEN: Final = sodium.crypto_secretstream_xchacha20poly1305_HEADERBYTES
CHUNK_CIPHERTEXT_SIZE: Final = CHUNK_SIZE + _ABYTES
_TAG_MESSAGE: Final = sodium.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE
_TAG_FINAL: Final = sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL
_SPOOL_IN_MEMORY: Final = 1 << 20
_FIXED_HEADER_LEN: Final = len(MAGIC) + 2


def _derive_keys(file_key: bytes) -> tuple[bytes, bytes]:
    mac_key = hkdf_sha256(file_key, b"", b"drop/v1 header-mac", 32)
    payload_key = hkdf_sha256(file_key, b"", b"drop/v1 payload", 32)
    return mac_key, payload_key


def _recipient_keys(recipients: Sequence[Recipient]) -> list[bytes]:
    keys: list[bytes] = []
    for recipient in recipients:
        if not isinstance(recipient, ResponderPublicKey | ReplyPublicKey):
            raise TypeError("recipients must be ResponderPublicKey or ReplyPublicKey objects")
        if recipient.box_key not in keys:  # the format requires duplicates removed
            keys.append(recipient.box_key)
    if not 1 <= len(keys) <= MAX_RECIPIENTS:
        raise KeysError(f"an envelope needs 1 to {MAX_RECIPIENTS} distinct recipients, "
                        f"{len(keys)} were given")
    return keys


def envelope_recipient_count(data: bytes) -> int:
    """Check the first 9 bytes of an envelope (magic, version, count); return count.

    For servers that accept envelopes sealed elsewhere and want to refuse
    garbage early. Raises HeaderError. Proves nothing about authenticity.
    """
    if len(data) < _FIXED_HEADER_LEN:
        raise HeaderError("the envelope is cut short inside its header")
    if data[:len(MAGIC)] != MAGIC:
        raise HeaderError("this is not a drop envelope (wrong magic bytes)")
    if data[len(MAGIC)] != VERSION:
        raise HeaderError(f"envelope version {data[len(MAGIC)]} is not supported (only 1)")
    count = data[len(MAGIC) + 1]
    if not 1 <= count <= MAX_RECIPIENTS:
        raise HeaderError(f"the envelope claims {count} recipients; 1 to 32 are allowed")
    return count


class Sealer:
    """Seal a stream as it arrives: `write()` plaintext, then `close()`.

    The header is written to `dst` at construction. At most one chunk
    (64 KiB) of plaintext is held in memory. Until `close()` emits the FINAL
    chunk, `dst` holds no valid envelope. Used as a context manager, an
    exception inside the block skips the FINAL chunk, so the half-written
    output can never pass for a complete envelope; the caller deletes it.
    """

    def __init__(self, dst: ByteSink, recipients: Sequence[Recipient]) -> None:
        keys = _recipient_keys(recipients)
        file_key = secrets.token_bytes(32)
        mac_key, payload_key = _derive_keys(file_key)
        body = bytes([VERSION, len(keys)]) + b"".join(
            sodium.crypto_box_seal(file_key, key) for key in keys)
        header = MAGIC + body + hmac_sha256(mac_key, MAGIC + body)
        self._state = sodium.crypto_secretstream_xchacha20poly1305_state()
        ss_header = sodium.crypto_secretstream_xchacha20poly1305_init_push(
            self._state, payload_key)
        self._dst = dst
        # One chunk of plaintext, allocated once; `_filled` bytes of it are pending.
        self._buffer = bytearray(CHUNK_SIZE)
        self._filled = 0
        self._closed = False
        dst.write(header + ss_header)

    def _push(self, plaintext: bytes, tag: int) -> None:
        self._dst.write(sodium.crypto_secretstream_xchacha20poly1305_push(
            self._state, plaintext, tag=tag))

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Add plaintext (any C-contiguous buffer). Raises ValueError after `close()`.

        `data` is used before this returns; the caller may reuse it afterwards.
        """
        if self._closed:
            raise ValueError("this Sealer is closed")
        view = memoryview(data).cast("B")
        while len(view):
            if self._filled == CHUNK_SIZE:
                # More data follows a full chunk, so that chunk is not the last one.
                self._push(bytes(self._buffer), _TAG_MESSAGE)
                self._filled = 0
            if self._filled == 0 and len(view) > CHUNK_SIZE:
                # A whole chunk with more after it: sealed straight from `data`,
                # saving the copy through the buffer.
                self._push(bytes(view[:CHUNK_SIZE]), _TAG_MESSAGE)
                view = view[CHUNK_SIZE:]
                continue
            step = min(CHUNK_SIZE - self._filled, len(view))
            self._buffer[self._filled:self._filled + step] = view[:step]
            self._filled += step
            view = view[step:]

    def close(self) -> None:
        """Emit the FINAL chunk. Idempotent."""
        if self._closed:
            return
        self._push(bytes(self._buffer[:self._filled]), _TAG_FINAL)
        self._discard_buffer()

    def _discard_buffer(self) -> None:
        self._buffer[:] = bytes(CHUNK_SIZE)
        self._filled = 0
        self._closed = True

    def __enter__(self) -> Sealer:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if exc_type is None:
            self.close()
        else:
            self._discard_buffer()


def encrypt(src: ByteSource, dst: ByteSink, recipients: Sequence[Recipient]) -> None:
    """Seal everything readable from `src` into `dst` for `recipients`.

    Raises TypeError for a recipient of the wrong type and KeysError for a
    recipient count (after removing duplicates) outside 1..32.
    """
    with Sealer(dst, recipients) as sealer:
        while chunk := src.read(CHUNK_SIZE):
            sealer.write(chunk)


def _read_exact(src: ByteSource, size: int) -> bytes:
    """Read `size` bytes, fewer only at end of input."""
    parts: list[bytes] = []
    remaining = size
    while remaining:
        part = src.read(remaining)
        if not part:
            break
        parts.append(part)
        remaining -= len(part)
    return b"".join(parts)


def _open_header(src: ByteSource, identity: Identity) -> bytes:
    """Read and check the header; return the payload key."""
    if not isinstance(identity, ResponderIdentity | ReplyKeyPair):
        raise TypeError("identity must be a ResponderIdentity or a ReplyKeyPair")
    fixed = _read_exact(src, _FIXED_HEADER_LEN)
    if fixed[:len(MAGIC)] != MAGIC[:len(fixed)]:
        raise HeaderError("this is not a drop envelope (wrong magic bytes)")
    count = envelope_recipient_count(fixed)
    rest = _read_exact(src, count * STANZA_LEN + MAC_LEN)
    if len(rest) < count * STANZA_LEN + MAC_LEN:
        raise HeaderError("the envelope is cut short inside its header")
    stanzas, mac = rest[:-MAC_LEN], rest[-MAC_LEN:]
    secret = identity.box_secret
    public = identity.public.box_key
    file_key = None
    for offset in range(0, len(stanzas), STANZA_LEN):
        try:
            opened = sodium.crypto_box_seal_open(stanzas[offset:offset + STANZA_LEN],
                                                 public, secret)
        except CryptoError:
            continue
        if len(opened) == 32:
            file_key = opened
            break
    if file_key is None:
        raise NoIdentityMatch()
    mac_key, payload_key = _derive_keys(file_key)
    if not hmac.compare_digest(hmac_sha256(mac_key, fixed + stanzas), mac):
        raise HeaderError("the envelope header was tampered with (its MAC does not match)")
    return payload_key


def _pull(state: sodium.crypto_secretstream_xchacha20poly1305_state, chunk: bytes,
          index: int) -> tuple[bytes, int]:
    if len(chunk) < _ABYTES:
        raise PayloadError(f"chunk {index} is cut short")
    try:
        return sodium.crypto_secretstream_xchacha20poly1305_pull(state, chunk)
    except (CryptoError, ValueError, RuntimeError):
        raise PayloadError(f"chunk {index} failed authentication: the envelope is damaged "
                           "or was tampered with") from None


def _open_payload(src: ByteSource, payload_key: bytes, sink: ByteSink) -> None:
    """Authenticate and decrypt the payload into `sink` (a private spool)."""
    ss_header = _read_exact(src, _SS_HEADER_LEN)
    current = _read_exact(src, CHUNK_CIPHERTEXT_SIZE)
    if len(ss_header) < _SS_HEADER_LEN or len(current) < _ABYTES:
        raise PayloadError("the envelope's payload is cut short (under 41 bytes)")
    state = sodium.crypto_secretstream_xchacha20poly1305_state()
    sodium.crypto_secretstream_xchacha20poly1305_init_pull(state, ss_header, payload_key)
    index = 0
    while True:
        following = _read_exact(src, CHUNK_CIPHERTEXT_SIZE) \
            if len(current) == CHUNK_CIPHERTEXT_SIZE else b""
        plaintext, tag = _pull(state, current, index)
        if following:
            if tag == _TAG_FINAL:
                raise PayloadError("the envelope has data after its final chunk")
            if tag != _TAG_MESSAGE:
                raise PayloadError(f"chunk {index} carries an unexpected tag ({tag})")
        else:
            if tag != _TAG_FINAL:
                raise PayloadError("the envelope ends before its final chunk: it is incomplete")
            if not plaintext and index > 0:
                raise PayloadError("the envelope ends with an empty chunk after a full one")
        sink.write(plaintext)
        if not following:
            return
        current = following
        index += 1


def decrypt(src: ByteSource, dst: ByteSink, identity: Identity, *,
            spool_dir: str | os.PathLike[str] | None = None) -> None:
    """Open the envelope read from `src` and write its plaintext to `dst`.

    Nothing is written to `dst` unless the whole envelope verified. Plaintext
    is staged in memory up to 1 MiB, beyond that in an unnamed temporary file
    in `spool_dir` (default: the system temp dir), removed on return.
    Raises HeaderError, NoIdentityMatch or PayloadError.
    """
    payload_key = _open_header(src, identity)
    spool_in = None if spool_dir is None else os.fspath(spool_dir)
    with tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY, dir=spool_in) as spool:
        _open_payload(src, payload_key, spool)
        spool.seek(0)
        shutil.copyfileobj(spool, dst, CHUNK_SIZE)


def decrypt_to_path(src: ByteSource, path: str | os.PathLike[str], identity: Identity, *,
                    overwrite: bool = False) -> None:
    """Open the envelope from `src` and write its plaintext to `path` atomically.

    Plaintext goes to a 0600 temp file in the same directory, which is
    fsynced and renamed onto `path` only after the FINAL chunk verified; on
    any failure it is removed and `path` is untouched. Raises
    FileExistsError if `path` exists and not `overwrite`, and the errors of
    `decrypt`.
    """
    target = Path(path)
    if target.exists() and not overwrite:
        raise FileExistsError(f"{target} already exists; not overwriting it")
    payload_key = _open_header(src, identity)
    fd, temp = private_temp_file(target.parent, ".drop-")
    try:
        with os.fdopen(fd, "wb") as handle:
            _open_payload(src, payload_key, handle)
            handle.flush()
            os.fsync(handle.fileno())
        publish(temp, target, overwrite=overwrite)
    finally:
        temp.unlink(missing_ok=True)
