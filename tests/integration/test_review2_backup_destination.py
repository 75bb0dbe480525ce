"""`dropbox backup --to FILE` never replaces a FILE, even one that appears while it writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from dropbox import backup as backup_module
from dropbox.backup import BackupError, write_backup
from dropbox.config import Config
from dropbox.db import today
from tests.fat_volume import mounted_fat32
from tests.instance_builder import make_instance


def test_a_file_appearing_at_the_destination_is_kept(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    instance = make_instance(tmp_path)
    instance.add_envelope(instance.add_reporter(last_active=today()), today())
    instance.database.engine.dispose()
    destination = tmp_path / "drop.backup"
    snapshot = backup_module._database_snapshot

    def another_writer_meanwhile(config: Config) -> tuple[list[bytes], dict[int, str]]:
        taken = snapshot(config)  # after the "must not exist" check, before the file
        destination.write_bytes(b"yesterday's backup")
        return taken

    monkeypatch.setattr(backup_module, "_database_snapshot", another_writer_meanwhile)
    with pytest.raises(BackupError, match="appeared while the backup was written"):
        write_backup(instance.config, destination)
    assert destination.read_bytes() == b"yesterday's backup"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".partial")] == []


def test_a_backup_can_be_written_to_a_fat_stick(tmp_path: Path) -> None:
    """FAT has no hard links: the never-replace check must not make backups impossible
    on the USB stick an operator carries them away on."""
    instance = make_instance(tmp_path / "drop")
    instance.add_envelope(instance.add_reporter(last_active=today()), today())
    instance.database.engine.dispose()
    with mounted_fat32(tmp_path) as usb:
        summary = write_backup(instance.config, usb / "drop.backup")
        assert summary.envelopes == 1
        assert (usb / "drop.backup").stat().st_size > 0
        assert [p.name for p in usb.iterdir()] == ["drop.backup"]
