"""A restore that fails while it moves files into place leaves nothing behind.

An app started during the restore (systemd, an operator) writes its own
`instance-salt` as its first start does. The restore finds it when it moves
its staged files into place, after the rows went in: it must then take back
the envelope files it already moved and leave no row, or the instance would
hold rows without their files while the operator is told nothing was restored.
Runs on SQLite and PostgreSQL (`backend`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, inspect
from sqlalchemy.engine import Engine

from dropbox.config import Config
from dropbox.db import today
from dropbox.storage import midnight_utc
from tests.backup_support import restore, rows, sqlite_url
from tests.instance_builder import Instance
from tests.integration.backup_restore.conftest import (  # noqa: F401 - fixtures
    backup_file,
    identity_file,
    postgres_target,
    source,
    target_url,
)


def _tables(url: str) -> list[str]:
    engine = create_engine(url)
    try:
        return inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_a_file_appearing_during_the_restore_leaves_no_rows_and_no_files(
        source: Instance, backup_file: Path, identity_file: Path,  # noqa: F811
        tmp_path: Path, target_url: str | None) -> None:  # noqa: F811
    target = tmp_path / "victim" / "instance"
    Config.for_instance(target, {"DROPBOX_RUNTIME_DIR": str(tmp_path / "victim" / "run")})
    salt = target / "instance-salt"

    def app_starts(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO ENVELOPES") \
                and not salt.exists():
            salt.write_bytes(b"s" * 16)

    event.listen(Engine, "after_cursor_execute", app_starts)
    try:
        _, result = restore(tmp_path, backup_file, identity_file, name="victim",
                            database_url=target_url)
    finally:
        event.remove(Engine, "after_cursor_execute", app_starts)

    assert result.exit_code == 1, result.output
    assert "nothing was restored" in result.output
    assert "appeared during the restore" in result.output
    assert salt.read_bytes() == b"s" * 16  # the other process's file is left alone
    assert sorted(p.name for p in target.rglob("*") if p.is_file()
                  and p.parent.name == "envelopes") == []
    assert not (target / "keyring.json").exists()
    if (target / "envelopes").is_dir():  # touched and emptied again: still only its day
        assert os.stat(target / "envelopes").st_mtime == midnight_utc(today())
    url = target_url or sqlite_url(target)
    if "reporters" in _tables(url):
        assert rows(url) == {"reporters": [], "envelopes": [], "api_nonces": []}
