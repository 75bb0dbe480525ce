"""Helpers for the sealed-cookie session tests: a settable clock, sealers, key files."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from dropbox.session_sealed import CookieSealer

IDLE_MINUTES = 30
NOW = 1_800_000_000.0


class Clock:
    """A clock for `CookieSealer` that stands still until a test moves `now` (epoch seconds)."""

    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def sealer(key: bytes | None = None, previous: bytes | None = None,
           clock: Clock | None = None) -> CookieSealer:
    """A sealer with IDLE_MINUTES of idle time; the all-zero key and a stopped clock by default."""
    return CookieSealer(key or bytes(32), previous, IDLE_MINUTES, clock or Clock())


def write_key(path: Path, key: bytes | None = None, mode: int = 0o600) -> Path:
    """Write a session key file (32 random bytes unless `key` is given) with `mode`."""
    path.write_bytes(secrets.token_bytes(32) if key is None else key)
    os.chmod(path, mode)
    return path
