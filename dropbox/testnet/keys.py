"""Identity keys for the test network's tors, generated once and cached.

Generating an authority's keys (tor-gencert) and a relay's identity takes
0.5-5 s on this machine, so keys live in a cache directory and are copied into
each run's fresh DataDirectory. Test-network keys protect nothing: they only
let a network of throwaway relays on 127.0.0.1 recognise each other.
"""

from __future__ import annotations

import shutil
import subprocess  # nosec B404 # fixed argv only, never a shell
import time
from dataclasses import dataclass
from pathlib import Path

from dropbox.onion_errors import TorStartError
from dropbox.tor_process import find_tor

# Authority certificates are made for 12 months; refresh well before that.
_MAX_CACHE_AGE = 90 * 24 * 3600


@dataclass(frozen=True)
class NodeKeys:
    """Cached keys of one node: its `keys/` directory, relay fingerprint, v3 identity."""

    keys_dir: Path
    fingerprint: str
    v3ident: str = ""


def _run(argv: list[str], what: str, stdin: str = "") -> str:
    try:
        done = subprocess.run(argv, input=stdin, capture_output=True, text=True,  # noqa: S603 # nosec B603
                              timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise TorStartError(f"{what} failed: {exc}") from exc
    if done.returncode != 0:
        raise TorStartError(f"{what} failed: {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout


def _relay_fingerprint(node_dir: Path, tor_binary: str) -> str:
    empty = node_dir / "empty"
    empty.touch()
    out = _run([find_tor(tor_binary), "--list-fingerprint", "--orport", "1",
                "--datadirectory", str(node_dir), "-f", str(empty),
                "--defaults-torrc", str(empty), "--quiet"],
               "tor --list-fingerprint")
    lines = [line for line in out.splitlines() if line.strip()]
    if not lines:
        raise TorStartError("tor --list-fingerprint printed nothing")
    return "".join(lines[-1].split()[1:])


def _create_authority_keys(keys_dir: Path) -> str:
    gencert = shutil.which("tor-gencert")
    if gencert is None:
        raise TorStartError("tor-gencert is missing: `sudo apt-get install tor-gencert`")
    _run([gencert, "--create-identity-key", "--passphrase-fd", "0",
          "-i", str(keys_dir / "authority_identity_key"),
          "-s", str(keys_dir / "authority_signing_key"),
          "-c", str(keys_dir / "authority_certificate"), "-m", "12"],
         "tor-gencert", stdin="\n")
    return _v3ident(keys_dir)


def _v3ident(keys_dir: Path) -> str:
    for line in (keys_dir / "authority_certificate").read_text().splitlines():
        if line.startswith("fingerprint "):
            return line.split()[1]
    raise TorStartError(f"no fingerprint line in {keys_dir / 'authority_certificate'}")


def cached_keys(cache_dir: Path, nickname: str, authority: bool,
                tor_binary: str = "tor") -> NodeKeys:
    """Keys for `nickname`, from the cache or freshly generated into it."""
    node_dir = cache_dir / nickname
    keys_dir = node_dir / "keys"
    marker = node_dir / "fingerprint"
    fresh = marker.exists() and time.time() - marker.stat().st_mtime < _MAX_CACHE_AGE
    if not fresh:
        shutil.rmtree(node_dir, ignore_errors=True)
        keys_dir.mkdir(mode=0o700, parents=True)
        node_dir.chmod(0o700)
        if authority:
            _create_authority_keys(keys_dir)
        marker.write_text(_relay_fingerprint(node_dir, tor_binary))
    v3ident = _v3ident(keys_dir) if authority else ""
    return NodeKeys(keys_dir=keys_dir, fingerprint=marker.read_text().strip(), v3ident=v3ident)


def install_keys(keys: NodeKeys, data_dir: Path) -> None:
    """Copy cached keys into a node's (new) DataDirectory, private as tor demands."""
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    target = data_dir / "keys"
    shutil.copytree(keys.keys_dir, target, dirs_exist_ok=True)
    target.chmod(0o700)
