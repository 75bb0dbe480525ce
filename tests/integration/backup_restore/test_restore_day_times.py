"""A restored instance's envelope files carry only their day, as live ones do (review finding 1).

The restore stages files as it decrypts them, so without care they would
carry the instant of the restore; every file must get 00:00 UTC of its row's
day, and `envelopes/` the restore's day.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from dropbox.db import today
from dropbox.storage import midnight_utc
from tests.backup_support import restore
from tests.instance_builder import Instance
from tests.integration.backup_restore.conftest import DAY


def midnight_ns(day: dt.date) -> tuple[int, int]:
    stamp = int(midnight_utc(day)) * 1_000_000_000
    return stamp, stamp


def times_ns(path: Path) -> tuple[int, int]:
    info = os.stat(path)
    return info.st_mtime_ns, info.st_atime_ns


def test_restored_envelopes_have_their_day_as_mtime_and_atime(
        source: Instance, backup_file: Path, identity_file: Path, tmp_path: Path,
        target_url: str | None) -> None:
    target, result = restore(tmp_path, backup_file, identity_file, database_url=target_url)
    assert result.exit_code == 0, result.output
    envelopes = target / "envelopes"
    assert times_ns(envelopes) == midnight_ns(today())  # before listing it
    names = sorted(path.name for path in envelopes.iterdir())
    assert names == sorted(source.envelope_ids())
    for name in names:
        assert times_ns(envelopes / name) == midnight_ns(DAY)
