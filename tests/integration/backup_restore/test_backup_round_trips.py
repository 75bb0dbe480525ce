"""`dropbox backup` then `dropbox restore` through the real CLI, on real SQLite and PostgreSQL.

Every test runs with the source instance on each store (`backend`) and restores
into a fresh database on the same store; one more restores into the other store
and back. The restore decrypts in a real child process (`python -m journalist_cli.backup_open`)
with a real identity file. A round trip must reproduce every row, every envelope
byte, the keyring, the salt and the seq high-water mark; the backup itself is
one envelope to the responders, never overwritten.
"""

from __future__ import annotations

import io
import secrets
import tarfile
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text

import keys
from dropbox.db import Envelope, open_database
from tests.backup_support import restore, rows, run_cli, sqlite_url
from tests.instance_builder import Instance
from tests.journalist_support import files_under


def instance_bytes(instance_dir: Path) -> dict[str, bytes]:
    wanted = ("envelopes/", "onion/", "keyring.json", "instance-salt")
    return {name: (instance_dir / name).read_bytes() for name in files_under(instance_dir)
            if name.startswith(wanted) and (instance_dir / name).is_file()}


def test_backup_is_one_envelope_for_the_responders(source: Instance, backup_file: Path) -> None:
    data = backup_file.read_bytes()
    assert data.startswith(b"DROPENV\x01")
    assert source.login_hash(next(iter(source.reporter_ids()))).encode() not in data
    assert b"keyring" not in data and b"ustar" not in data
    opened = io.BytesIO()
    keys.decrypt(io.BytesIO(data), opened, source.identity)
    with tarfile.open(fileobj=io.BytesIO(opened.getvalue())) as tar:
        members = tar.getmembers()
    assert members[-1].name == "database.jsonl"
    assert all(m.mtime == 0 and m.uid == 0 and m.isreg() for m in members)
    again = run_cli(source.config.instance_dir, "backup", "--to", str(backup_file),
                    database_url=source.backend.url)
    assert again.exit_code == 1 and "already exists" in again.output
    assert backup_file.read_bytes() == data


def test_round_trip_restores_rows_files_and_cursor(source: Instance, backup_file: Path,
                                                   identity_file: Path, tmp_path: Path,
                                                   target_url: str | None) -> None:
    target, result = restore(tmp_path, backup_file, identity_file, database_url=target_url)
    assert result.exit_code == 0, result.output
    assert "2 reporters, 3 envelopes" in result.output
    assert source.identity.public.fingerprint in result.output
    restored_url = target_url or sqlite_url(target)
    assert rows(source.config.database_url) == rows(restored_url)
    assert instance_bytes(source.config.instance_dir) == instance_bytes(target)
    assert not [n for n in files_under(target) if n.startswith(".restore")]
    # The deleted newest envelope's seq must not come back for a new report.
    restored = open_database(restored_url, target)
    with restored.session() as session, session.begin():
        if target_url is None:
            high = session.scalar(text("SELECT seq FROM sqlite_sequence WHERE name='envelopes'"))
            assert high == 4
        fresh = Envelope(id=secrets.token_hex(16), reporter_id=next(iter(source.reporter_ids())),
                         kind="report", size=1)
        session.add(fresh)
        session.flush()
        assert fresh.seq == 5
    restored.engine.dispose()


def test_restore_into_the_other_store_and_back(source: Instance, backup_file: Path,
                                               identity_file: Path, tmp_path: Path,
                                               request: pytest.FixtureRequest) -> None:
    other_url: str | None = (None if source.backend.is_postgres
                             else request.getfixturevalue("postgres_target"))
    target, result = restore(tmp_path, backup_file, identity_file, database_url=other_url)
    assert result.exit_code == 0, result.output
    other = other_url or sqlite_url(target)
    assert rows(other) == rows(source.config.database_url)
    second = tmp_path / "other-again.backup"
    assert run_cli(target, "backup", "--to", str(second), database_url=other_url).exit_code == 0
    home_url = None
    if source.backend.is_postgres:
        home_url = request.getfixturevalue("postgres_cluster").create_database()
    try:
        again, result = restore(tmp_path, second, identity_file, name="back-home",
                                database_url=home_url)
        assert result.exit_code == 0, result.output
        assert rows(home_url or sqlite_url(again)) == rows(other)
        if other_url is not None:
            engine = create_engine(other_url)
            with engine.begin() as connection:
                assert connection.scalar(text("SELECT nextval('envelopes_seq_seq')")) == 5
            engine.dispose()
    finally:
        if home_url is not None:
            request.getfixturevalue("postgres_cluster").drop_database(home_url)


def test_envelope_deleted_after_the_snapshot_leaves_with_its_row(
    source: Instance, identity_file: Path, tmp_path: Path, target_url: str | None
) -> None:
    # The moment between a deletion's row removal and its file wipe, seen from the
    # other side: the snapshot has the row, the file is already gone.
    with source.database.session() as session:
        victim = session.scalars(select(Envelope.id).where(Envelope.kind == "followup")).one()
    source.store.secure_delete(victim)
    backup = tmp_path / "racy.backup"
    result = run_cli(source.config.instance_dir, "backup", "--to", str(backup),
                     database_url=source.backend.url)
    assert result.exit_code == 0 and "2 envelopes" in result.output
    target, restored = restore(tmp_path, backup, identity_file, database_url=target_url)
    assert restored.exit_code == 0, restored.output
    ids = [row[1] for row in rows(target_url or sqlite_url(target))["envelopes"]]
    assert victim not in ids and len(ids) == 2
