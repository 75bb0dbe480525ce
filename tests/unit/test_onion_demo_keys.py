"""First-run demo keys: made by the journalist CLI, public half in the keyring only."""

from __future__ import annotations

from pathlib import Path

import pytest

from dropbox.demo_keys import create_demo_identity
from dropbox.keyring import Keyring


def test_demo_identity_is_made_once_and_reused_by_a_second_instance(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DROPBOX_DEMO_PASSPHRASE", "a demo passphrase, long enough")
    home = tmp_path / "workstation-DEMO-KEYS"
    first = create_demo_identity(tmp_path / "one" / "keyring.json", home)
    assert first is not None and first.passphrase == "a demo passphrase, long enough"
    assert "DEMO KEYS ONLY" in first.warning()
    assert (home / "identity.key").stat().st_mode & 0o077 == 0
    ring = Keyring.load(tmp_path / "one" / "keyring.json")
    assert ring.recipient_strings() == [first.public_key]
    assert create_demo_identity(tmp_path / "one" / "keyring.json", home) is None

    second = create_demo_identity(tmp_path / "two" / "keyring.json", home)
    assert second is not None and second.passphrase is None
    assert second.public_key == first.public_key
