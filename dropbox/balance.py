"""Onionbalance in front of several reporter backends: keys, configs, the process.

One public reporter address (the *frontend*) is published by Onionbalance, a
separate program that talks to its own tor's control port: it fetches each
backend's descriptor, merges their introduction points into a descriptor
signed with the frontend key and uploads it. Backends are ordinary tors whose
torrc carries a `HiddenServiceOnionbalanceInstance 1` service and an `ob_config`
naming the frontend. Nothing here imports stem: Onionbalance runs as a
subprocess (`onionbalance -c CONFIG`), from the `balance` extra.

Templates live in deploy/onionbalance/; the tests render the same files.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import secrets
import shutil
import subprocess  # nosec B404 - fixed argv only, never a shell
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from string import Template

import nacl.bindings

from dropbox.onion_errors import OnionError, OnionKeyError
from dropbox.tor_process import die_with_parent, stop_process

TEMPLATE_DIR = Path(__file__).resolve().parents[1] / "deploy" / "onionbalance"
# tor's on-disk format for an onion service's expanded ed25519 secret key.
_TOR_SECRET_KEY_HEADER = b"== ed25519v1-secret: type0 ==\x00\x00\x00"
_ONION_VERSION = b"\x03"
_ADDRESS = re.compile(r"[a-z2-7]{56}\.onion")
_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")


class BalanceError(OnionError):
    """Onionbalance is missing, would not start, or did not publish the frontend in time."""


@dataclass(frozen=True)
class BackendInstance:
    """One backend as the frontend's config lists it."""

    name: str
    address: str  # <56 chars>.onion


def onion_address(public_key: bytes) -> str:
    """The v3 `.onion` address of an ed25519 public key (rend-spec-v3 §6)."""
    if len(public_key) != 32:
        raise OnionKeyError("an onion service public key is 32 bytes")
    checksum = hashlib.sha3_256(b".onion checksum" + public_key + _ONION_VERSION).digest()[:2]
    encoded = base64.b32encode(public_key + checksum + _ONION_VERSION).decode("ascii")
    return f"{encoded.lower()}.onion"


def create_frontend_key(path: Path) -> str:
    """Write a new frontend identity key (tor's format, mode 0600); return its address.

    Refuses to overwrite: the frontend key IS the drop's public address.
    Raises OnionKeyError if `path` exists or cannot be written.
    """
    # An ed25519 key expanded from a random seed (RFC 8032 §5.1.5), as tor stores it.
    expanded = bytearray(hashlib.sha512(secrets.token_bytes(32)).digest())
    expanded[0] &= 248
    expanded[31] &= 63
    expanded[31] |= 64
    public_key = nacl.bindings.crypto_scalarmult_ed25519_base_noclamp(bytes(expanded[:32]))
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise OnionKeyError(f"{path} already exists: refusing to replace a frontend key") from exc
    except OSError as exc:
        raise OnionKeyError(f"cannot write the frontend key {path}: {exc}") from exc
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(_TOR_SECRET_KEY_HEADER + bytes(expanded))
    return onion_address(public_key)


def _template(name: str) -> Template:
    path = TEMPLATE_DIR / name
    try:
        return Template(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BalanceError(f"Onionbalance template missing: {path} ({exc})") from exc


def _checked_address(address: str) -> str:
    if not _ADDRESS.fullmatch(address):
        raise BalanceError(f"not a v3 onion address: {address!r}")
    return address


def render_config(frontend_key: Path, backends: Sequence[BackendInstance]) -> str:
    """Onionbalance's config.yaml for one frontend and its backends.

    Raises BalanceError for no backends, a malformed address or name, or a missing template.
    """
    if not backends:
        raise BalanceError("Onionbalance needs at least one backend")
    for backend in backends:
        if not _NAME.fullmatch(backend.name):
            raise BalanceError(f"backend name {backend.name!r}: use letters, digits, - and _")
    instances = "".join(
        f"      - address: {_checked_address(backend.address)}\n        name: {backend.name}\n"
        for backend in backends)
    return _template("config.yaml.in").substitute(frontend_key=str(frontend_key),
                                                  instances=instances.rstrip("\n"))


def render_backend_service(service_dir: Path, reporter_port: int) -> str:
    """The torrc block publishing one backend of the frontend (port 80 → the reporter app)."""
    return _template("backend-service.torrc").substitute(service_dir=str(service_dir),
                                                         reporter_port=reporter_port)


def write_ob_config(service_dir: Path, frontend_address: str) -> None:
    """Tell a backend's tor which frontend it serves (`<service dir>/ob_config`)."""
    service_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    service_dir.chmod(0o700)  # tor refuses a group- or world-readable service dir
    (service_dir / "ob_config").write_text(
        f"MasterOnionAddress {_checked_address(frontend_address)}\n", encoding="utf-8")


def read_backend_address(service_dir: Path) -> str | None:
    """The address tor wrote to `<service dir>/hostname`, or None until it has."""
    try:
        text = (service_dir / "hostname").read_text(encoding="ascii").strip()
    except OSError:
        return None
    return text if _ADDRESS.fullmatch(text) else None


def find_onionbalance() -> str:
    """The onionbalance executable beside this Python, else on PATH. Raises BalanceError."""
    beside = Path(sys.executable).parent / "onionbalance"
    found = str(beside) if beside.exists() else shutil.which("onionbalance")
    if found is None:
        raise BalanceError("onionbalance is not installed: `pip install 'drop[balance]'`")
    return found


class OnionbalanceProcess:
    """A running `onionbalance` attached to one tor's control port (TCP, cookie auth).

    `testnet=True` passes `--is-testnet`: Onionbalance then assumes a test
    network voting every 20 s (chutney's schedule), so the tor network must vote
    every 20 s too, or its time periods differ from tor's (see deploy/README.md).
    """

    def __init__(self, config: Path, control_port: int, log_path: Path,
                 testnet: bool = False) -> None:
        argv = [find_onionbalance(), "-c", str(config), "-i", "127.0.0.1",
                "-p", str(control_port), "-v", "info"]
        if testnet:
            argv.append("--is-testnet")
        self.log_path = log_path
        with open(log_path, "ab") as log:
            try:
                self.process = subprocess.Popen(  # noqa: S603  # nosec B603 - fixed argv
                    argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                    preexec_fn=die_with_parent, close_fds=True)
            except OSError as exc:
                raise BalanceError(f"could not start onionbalance: {exc}") from exc

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def wait_for_log(self, pattern: str, timeout: float, after: int = 0) -> int:
        """Wait until a log line after character `after` matches `pattern`.

        Returns where the match ends (pass it as `after` to wait for a later
        line). Raises BalanceError on timeout or if onionbalance exits.
        """
        wanted = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            text = self.log_text()
            found = wanted.search(text, after)
            if found:
                return found.end()
            if self.process.poll() is not None:
                raise BalanceError(f"onionbalance exited ({self.process.returncode}) before "
                                   f"logging /{pattern}/:\n{text[-2000:]}")
            if time.monotonic() > deadline:
                raise BalanceError(f"onionbalance did not log /{pattern}/ within {timeout:.0f} s:"
                                   f"\n{text[-2000:]}")
            time.sleep(0.2)

    def stop(self, grace: float = 3.0) -> None:
        """SIGTERM, then SIGKILL after `grace` seconds."""
        if self.process.poll() is None:
            stop_process(self.process, grace)
