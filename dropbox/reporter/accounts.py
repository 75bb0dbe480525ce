"""Reporter accounts: the instance salt, login hashes, and the gates on expensive work.

The server never stores a codename. It stores Argon2id(login_secret, instance
salt) where login_secret is derived from the codename (FORMAT.md §4) in the
browser, or by the server in memory for one request when JavaScript is off.
Argon2id and server-side sealing are expensive, so each runs behind a
semaphore that refuses (Busy) rather than queues when saturated.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from nacl.pwhash import argon2id

from dropbox.reporter.errors import BadUpload, Busy

SALT_BYTES = 16
LOGIN_OPSLIMIT = 2
LOGIN_MEMLIMIT = 32 * 1024 * 1024
LOGIN_SECRET_RE = re.compile(r"\A[0-9a-f]{64}\Z")
# A gate waits this long for a free slot before telling the reporter to retry.
GATE_WAIT_SECONDS = 2.0


def load_or_create_salt(path: Path) -> bytes:
    """The instance's 16-byte login salt, created (0600) on first use.

    Raises OSError if it cannot be created, ValueError if the file is corrupt.
    """
    try:
        salt = path.read_bytes()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            salt = path.read_bytes()
        else:
            salt = os.urandom(SALT_BYTES)
            with os.fdopen(fd, "wb") as handle:
                handle.write(salt)
                handle.flush()
                os.fsync(handle.fileno())
    if len(salt) != SALT_BYTES:
        raise ValueError(f"{path} must hold exactly {SALT_BYTES} bytes; it is corrupt")
    return salt


def parse_login_secret(text: str) -> bytes:
    """The 32-byte login secret from its 64 lowercase hex digits; BadUpload otherwise."""
    text = text.strip()
    if not LOGIN_SECRET_RE.match(text):
        raise BadUpload("login_secret must be 64 lowercase hex digits")
    return bytes.fromhex(text)


def login_hash(login_secret: bytes, salt: bytes) -> str:
    """Argon2id(login_secret, salt, opslimit 2, memlimit 32 MiB), as 64 hex digits."""
    return argon2id.kdf(
        32, login_secret, salt, opslimit=LOGIN_OPSLIMIT, memlimit=LOGIN_MEMLIMIT
    ).hex()


class Gate:
    """A bounded number of concurrent holders; `enter()` raises Busy when full."""

    def __init__(self, slots: int, wait_seconds: float = GATE_WAIT_SECONDS) -> None:
        self._semaphore = threading.BoundedSemaphore(slots)
        self.slots = slots
        self.wait_seconds = wait_seconds

    @contextmanager
    def enter(self, wait_seconds: float | None = None) -> Iterator[None]:
        """Hold a slot for the block; Busy if none is free within `wait_seconds`."""
        wait = self.wait_seconds if wait_seconds is None else wait_seconds
        if not self._semaphore.acquire(timeout=wait):
            raise Busy()
        try:
            yield
        finally:
            self._semaphore.release()

    def try_acquire(self) -> bool:
        """Take a slot without waiting (tests use it to saturate the gate)."""
        return self._semaphore.acquire(blocking=False)

    def release(self) -> None:
        self._semaphore.release()
