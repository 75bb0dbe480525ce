"""Onion service keys on disk and client-authorisation keys (no tor)."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from dropbox.onion_auth import (
    ClientAuthKeyPair,
    load_service_key,
    parse_server_line,
    read_client_auth_keys,
    save_service_key,
)
from dropbox.onion_errors import OnionKeyError
from dropbox.onion_host import ensure_demo_client_key

KEY = "ED25519-V3:" + base64.b64encode(bytes(range(64))).decode()


def test_service_key_round_trip_is_private(tmp_path: Path) -> None:
    path = tmp_path / "onion" / "reporter.key"
    assert load_service_key(path) is None
    save_service_key(path, KEY)
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700
    assert load_service_key(path) == KEY
    assert not list(path.parent.glob(".*tmp"))


def test_a_key_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "reporter.key"
    save_service_key(path, KEY)
    path.chmod(0o644)
    with pytest.raises(OnionKeyError, match="chmod 600"):
        load_service_key(path)


def test_garbage_is_neither_stored_nor_loaded(tmp_path: Path) -> None:
    with pytest.raises(OnionKeyError):
        save_service_key(tmp_path / "k", "RSA1024:abc")
    assert not (tmp_path / "k").exists()
    bad = tmp_path / "bad.key"
    bad.write_text("ED25519-V3:short\n")
    bad.chmod(0o600)
    with pytest.raises(OnionKeyError, match="does not hold"):
        load_service_key(bad)


def test_client_key_lines_match_tor_formats() -> None:
    pair = ClientAuthKeyPair.generate()
    server = pair.server_line()
    assert server.startswith("descriptor:x25519:") and len(server) == 18 + 52
    assert parse_server_line(server) == pair.public_base32
    onion_id = "a" * 56
    assert pair.workstation_line(onion_id) == f"{onion_id}:descriptor:x25519:{pair.private_base32}"
    control = pair.control_port_argument()
    assert control.startswith("x25519:") and base64.b64decode(control[7:]) == pair.private_key
    assert ClientAuthKeyPair.from_private_base32(pair.private_base32) == pair


def test_client_auth_dir_is_read_and_validated(tmp_path: Path) -> None:
    clients = tmp_path / "clients"
    assert read_client_auth_keys(clients) == []
    clients.mkdir()
    first, second = ClientAuthKeyPair.generate(), ClientAuthKeyPair.generate()
    (clients / "a.auth").write_text(first.server_line() + "\n")
    (clients / "b.auth").write_text(second.server_line().lower() + "\n")
    (clients / "notes.txt").write_text("ignored")
    assert read_client_auth_keys(clients) == [first.public_base32, second.public_base32]
    (clients / "c.auth").write_text("descriptor:x25519:not-a-key\n")
    with pytest.raises(OnionKeyError, match=r"c\.auth"):
        read_client_auth_keys(clients)


def test_demo_client_key_only_when_nobody_is_authorised(tmp_path: Path) -> None:
    pair = ensure_demo_client_key(tmp_path)
    assert pair is not None
    stored = tmp_path / "onion" / "clients" / "workstation-demo.auth"
    assert stored.read_text().strip() == pair.server_line()
    assert pair.private_base32 not in stored.read_text()
    assert (tmp_path / "onion").stat().st_mode & 0o777 == 0o700
    assert ensure_demo_client_key(tmp_path) is None
