"""Onion keys on disk and v3 client authorisation, without talking to tor.

Layout under `<instance>/onion/` (directory 0700, files 0600):

    reporter.key, responder.key    `ED25519-V3:<base64>` as tor's ADD_ONION returns it
    clients/<name>.auth            `descriptor:x25519:<base32 public key>` (one per workstation)

The responder onion only answers clients holding one of the matching private
keys; those stay on the responders' workstations as the line
`<onion-id>:descriptor:x25519:<base32 private key>` (tor's ClientOnionAuthDir format).
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from dataclasses import dataclass
from pathlib import Path

from nacl.bindings import crypto_box_keypair, crypto_scalarmult_base

from dropbox.onion_errors import OnionKeyError

_SERVICE_KEY = re.compile(r"^ED25519-V3:[A-Za-z0-9+/]{86}==$")
_AUTH_LINE = re.compile(r"^descriptor:x25519:([A-Za-z2-7]{52})=*$")


def _b32(raw: bytes) -> str:
    return base64.b32encode(raw).decode("ascii").rstrip("=")


def _b32_key(text: str) -> bytes:
    """Decode a 52-character base32 x25519 key; raise OnionKeyError otherwise."""
    try:
        raw = base64.b32decode(text.upper() + "====")
    except binascii.Error as exc:
        raise OnionKeyError(f"not a base32 x25519 key: {text[:8]}...") from exc
    if len(raw) != 32:
        raise OnionKeyError("an x25519 key must be 32 bytes")
    return raw


@dataclass(frozen=True)
class ClientAuthKeyPair:
    """An x25519 key pair for one workstation that may reach the responder onion."""

    private_key: bytes
    public_key: bytes

    @classmethod
    def generate(cls) -> ClientAuthKeyPair:
        public, private = crypto_box_keypair()
        return cls(private_key=private, public_key=public)

    @classmethod
    def from_private_base32(cls, text: str) -> ClientAuthKeyPair:
        private = _b32_key(text)
        return cls(private_key=private, public_key=crypto_scalarmult_base(private))

    @property
    def public_base32(self) -> str:
        return _b32(self.public_key)

    @property
    def private_base32(self) -> str:
        return _b32(self.private_key)

    def server_line(self) -> str:
        """The line for the server's `clients/<name>.auth` file."""
        return f"descriptor:x25519:{self.public_base32}"

    def workstation_line(self, onion_id: str) -> str:
        """The line a workstation's tor needs (ClientOnionAuthDir `.auth_private` file)."""
        return f"{onion_id}:descriptor:x25519:{self.private_base32}"

    def control_port_argument(self) -> str:
        """The key as `ONION_CLIENT_AUTH_ADD` takes it: `x25519:<base64 private>`."""
        return "x25519:" + base64.b64encode(self.private_key).decode("ascii")


def parse_server_line(line: str) -> str:
    """Return the base32 public key of a `descriptor:x25519:<key>` line.

    Raises OnionKeyError when the line is not in that form.
    """
    match = _AUTH_LINE.match(line.strip())
    if match is None:
        raise OnionKeyError("client-auth lines look like `descriptor:x25519:<52 base32 chars>`")
    _b32_key(match.group(1))
    return match.group(1).upper()


def read_client_auth_keys(clients_dir: Path) -> list[str]:
    """Base32 public keys from every `*.auth` file in `clients_dir`, sorted by file name.

    A missing directory means no clients. Raises OnionKeyError naming the bad file.
    """
    if not clients_dir.is_dir():
        return []
    keys = []
    for path in sorted(clients_dir.glob("*.auth")):
        try:
            keys.append(parse_server_line(path.read_text(encoding="ascii")))
        except (OnionKeyError, UnicodeDecodeError) as exc:
            raise OnionKeyError(f"{path}: {exc}") from exc
    return keys


def write_private_file(path: Path, text: str) -> None:
    """Write `text` to `path` atomically, mode 0600, in a 0700 directory."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def load_service_key(path: Path) -> str | None:
    """The stored `ED25519-V3:...` key, or None when there is none yet.

    Raises OnionKeyError when the file is malformed or readable by others.
    """
    if not path.exists():
        return None
    if path.stat().st_mode & 0o077:
        raise OnionKeyError(f"{path} is readable by other users; run `chmod 600 {path}`")
    key = path.read_text(encoding="ascii").strip()
    if not _SERVICE_KEY.match(key):
        raise OnionKeyError(f"{path} does not hold an ED25519-V3 onion key")
    return key


def save_service_key(path: Path, key: str) -> None:
    """Persist an `ED25519-V3:...` key (0600) so the onion address survives restarts."""
    if not _SERVICE_KEY.match(key):
        raise OnionKeyError("refusing to store something that is not an ED25519-V3 onion key")
    write_private_file(path, key + "\n")
