"""Identity files: Argon2id + secretbox at rest, 0600, atomic, never overwritten."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from nacl import bindings as sodium
from nacl.pwhash import argon2id

from keys import KeyFormatError, PassphraseError, ResponderIdentity
from keys.identity_file import FILE_LEN, open_identity, seal_identity

IDENTITY = ResponderIdentity(bytes(32 * [1]), bytes(32 * [2]))


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "identity.drop"
    IDENTITY.save(path, "correct horse battery staple")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.stat().st_size == FILE_LEN == 128
    assert ResponderIdentity.load(path, "correct horse battery staple") == IDENTITY
    assert [p.name for p in tmp_path.iterdir()] == ["identity.drop"]


def test_file_layout_matches_the_spec() -> None:
    data = seal_identity(IDENTITY, "pass")
    assert data[:8] == b"DROPKEY\x01"
    salt, nonce, box = data[8:24], data[24:48], data[48:]
    key = argon2id.kdf(32, b"pass", salt, opslimit=3, memlimit=64 * 1024 * 1024)
    payload = sodium.crypto_secretbox_open(box, nonce, key)
    assert payload == IDENTITY.box_secret + bytes(32 * [2])


def test_salt_and_nonce_are_fresh() -> None:
    assert seal_identity(IDENTITY, "pass")[8:48] != seal_identity(IDENTITY, "pass")[8:48]


def test_passphrase_is_nfc_normalised() -> None:
    data = seal_identity(IDENTITY, "caf\u00e9")
    assert open_identity(data, "cafe\u0301") == IDENTITY


def test_wrong_passphrase_is_a_passphrase_error(tmp_path: Path) -> None:
    path = tmp_path / "id"
    IDENTITY.save(path, "right")
    with pytest.raises(PassphraseError, match="wrong passphrase"):
        ResponderIdentity.load(path, "wrong")


def test_damaged_box_is_a_passphrase_error() -> None:
    data = bytearray(seal_identity(IDENTITY, "pass"))
    data[-1] ^= 1
    with pytest.raises(PassphraseError):
        open_identity(bytes(data), "pass")


@pytest.mark.parametrize("mutate", [
    lambda d: d[:-1], lambda d: d + b"\x00", lambda d: b"DROPKEX" + d[7:],
    lambda d: d[:7] + b"\x02" + d[8:], lambda d: b"",
])
def test_not_an_identity_file_is_a_key_format_error(mutate: object) -> None:
    data = seal_identity(IDENTITY, "pass")
    with pytest.raises(KeyFormatError):
        open_identity(mutate(data), "pass")  # type: ignore[operator]


def test_existing_file_is_never_replaced(tmp_path: Path) -> None:
    path = tmp_path / "id"
    path.write_bytes(b"precious")
    with pytest.raises(FileExistsError):
        IDENTITY.save(path, "pass")
    assert path.read_bytes() == b"precious"
    assert [p.name for p in tmp_path.iterdir()] == ["id"]


def test_empty_passphrase_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PassphraseError):
        IDENTITY.save(tmp_path / "id", "")
    assert list(tmp_path.iterdir()) == []


def test_filesystems_without_hard_links_still_get_a_safe_write(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno
    import os

    def no_links(src: object, dst: object) -> None:
        raise OSError(errno.EPERM, "links not supported here")

    monkeypatch.setattr(os, "link", no_links)
    path = tmp_path / "id"
    IDENTITY.save(path, "pass")
    assert ResponderIdentity.load(path, "pass") == IDENTITY
    with pytest.raises(FileExistsError):
        IDENTITY.save(path, "pass")
    assert [p.name for p in tmp_path.iterdir()] == ["id"]
