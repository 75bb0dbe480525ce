"""`dropbox backup` / `dropbox restore` through the real CLI, on real SQLite and PostgreSQL.

Every test runs with the source instance on each store (`backend`) and restores
into a fresh database on the same store; one more restores into the other store
and back. The restore decrypts in a real child process (`python -m journalist_cli.backup_open`)
with a real identity file. A round trip must reproduce every row, every envelope
byte, the keyring, the salt and the seq high-water mark; damaged, truncated or
hostile backups must be refused with nothing written.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import secrets
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import create_engine, delete, inspect, select, text

import keys
from dropbox.cli import cli
from dropbox.config import Config
from dropbox.db import ApiNonce, Envelope, Reporter, open_database
from keys.identity_file import save_identity
from tests.backends import Backend
from tests.instance_builder import Instance, make_instance
from tests.journalist_support import PASSPHRASE, files_under
from tests.pg_server import PostgresServer

DAY = dt.date(2026, 11, 2)


def run(instance_dir: Path, *args: str, database_url: str | None = None) -> Result:
    env = {"DROPBOX_INSTANCE": str(instance_dir),
           "DROPBOX_RUNTIME_DIR": str(instance_dir.parent / "run"),
           "JOURNALIST_PASSPHRASE": PASSPHRASE}
    if database_url:
        env["DROPBOX_DATABASE_URL"] = database_url
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


@pytest.fixture
def source(tmp_path: Path, backend: Backend) -> Iterator[Instance]:
    built = make_instance(tmp_path / "source", backend=backend)
    reporter = built.add_reporter(last_active=DAY, created=dt.date(2026, 10, 1))
    report = built.add_envelope(reporter, DAY, emergency=True, plaintext=os.urandom(150_000))
    built.add_envelope(reporter, DAY, kind="attachment", parent_id=report)
    built.add_envelope(built.add_reporter(last_active=DAY), DAY, kind="followup")
    newest = built.add_envelope(reporter, DAY, kind="reply")
    with built.database.session() as session, session.begin():
        session.execute(delete(Envelope).where(Envelope.id == newest))
        session.add(ApiNonce(nonce="n0nce-1", day=DAY))
    built.store.secure_delete(newest)
    onion = built.config.instance_dir / "onion"
    (onion / "clients").mkdir(parents=True, mode=0o700)
    (onion / "reporter.key").write_text("ED25519-V3:secret-onion-key\n")
    (onion / "clients" / "ws.auth").write_text("descriptor:x25519:abc\n")
    yield built
    built.database.engine.dispose()


@pytest.fixture
def identity_file(tmp_path: Path, source: Instance) -> Path:
    path = tmp_path / "identity.key"
    save_identity(source.identity, path, PASSPHRASE)
    return path


@pytest.fixture
def backup_file(tmp_path: Path, source: Instance) -> Path:
    path = tmp_path / "drop.backup"
    result = run(source.config.instance_dir, "backup", "--to", str(path),
                 database_url=source.backend.url)
    assert result.exit_code == 0, result.output
    assert "2 reporters, 3 envelopes" in result.output
    return path


@pytest.fixture
def postgres_target(request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh empty PostgreSQL database to restore into."""
    cluster: PostgresServer = request.getfixturevalue("postgres_cluster")
    with cluster.fresh_database() as url:
        yield url


@pytest.fixture
def target_url(source: Instance, request: pytest.FixtureRequest) -> str | None:
    """Where a restore writes: a fresh database on the source's store (None: SQLite)."""
    if not source.backend.is_postgres:
        return None
    url: str = request.getfixturevalue("postgres_target")
    return url


def sqlite_url(instance_dir: Path) -> str:
    return f"sqlite:///{instance_dir / 'drop.sqlite3'}"


def rows(database_url: str) -> dict[str, list[tuple[Any, ...]]]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return {model.__tablename__: [tuple(r) for r in connection.execute(
                        select(model.__table__).order_by(*model.__table__.primary_key))]
                    for model in (Reporter, Envelope, ApiNonce)}
    finally:
        engine.dispose()


def instance_bytes(instance_dir: Path) -> dict[str, bytes]:
    wanted = ("envelopes/", "onion/", "keyring.json", "instance-salt")
    return {name: (instance_dir / name).read_bytes() for name in files_under(instance_dir)
            if name.startswith(wanted) and (instance_dir / name).is_file()}


def restore(tmp_path: Path, backup: Path, identity: Path, name: str = "restored",
            database_url: str | None = None) -> tuple[Path, Result]:
    target = tmp_path / name / "instance"
    result = run(target, "restore", "--from", str(backup), "--identity", str(identity),
                 database_url=database_url)
    return target, result


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
    again = run(source.config.instance_dir, "backup", "--to", str(backup_file),
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
    assert run(target, "backup", "--to", str(second), database_url=other_url).exit_code == 0
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


def _assert_refused(tmp_path: Path, backup: Path, identity: Path, expected: str,
                    target_url: str | None) -> None:
    target = tmp_path / "victim" / "instance"
    Config.for_instance(target, {"DROPBOX_RUNTIME_DIR": str(tmp_path / "victim" / "run")})
    before = files_under(target)
    _, result = restore(tmp_path, backup, identity, name="victim", database_url=target_url)
    assert result.exit_code == 1
    assert "nothing was restored" in result.output
    assert expected in result.output
    assert files_under(target) == before
    if target_url is not None:
        engine = create_engine(target_url)
        try:
            tables = inspect(engine).get_table_names()
        finally:
            engine.dispose()
        if "reporters" in tables:
            assert rows(target_url) == {"reporters": [], "envelopes": [], "api_nonces": []}


@pytest.mark.parametrize("damage", ["flip", "truncate"])
def test_damaged_backup_restores_nothing(backup_file: Path, identity_file: Path,
                                         tmp_path: Path, damage: str,
        target_url: str | None) -> None:
    data = bytearray(backup_file.read_bytes())
    if damage == "flip":
        data[len(data) // 2] ^= 0x01
    else:
        del data[-1000:]
    backup_file.write_bytes(bytes(data))
    _assert_refused(tmp_path, backup_file, identity_file, "damaged", target_url)


def test_wrong_passphrase_restores_nothing(backup_file: Path, identity_file: Path,
                                           tmp_path: Path,
        target_url: str | None) -> None:
    other = tmp_path / "other.key"
    save_identity(keys.ResponderIdentity.generate(), other, PASSPHRASE)
    _assert_refused(tmp_path, backup_file, other, "not encrypted to your key", target_url)


def _sealed_tar(members: list[tuple[tarfile.TarInfo, bytes]],
                recipient: keys.ResponderPublicKey, path: Path, trailing: bytes = b"") -> Path:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for info, data in members:
            info.size = len(data) if info.isreg() else 0
            tar.addfile(info, io.BytesIO(data) if info.isreg() else None)
    with path.open("wb") as out:
        keys.encrypt(io.BytesIO(raw.getvalue() + trailing), out, [recipient])
    return path


def _info(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, link
    return info


HOSTILE = {
    "dot-dot": ([_info("../escaped")], "unexpected entry"),
    "absolute": ([_info("/tmp/escaped")], "unexpected entry"),
    "symlink": ([_info("keyring.json", tarfile.SYMTYPE, "/etc/passwd")], "not a regular file"),
    "hardlink": ([_info("envelopes/" + "a" * 32, tarfile.LNKTYPE, "keyring.json")],
                 "not a regular file"),
    "unexpected": ([_info("secret-key")], "unexpected entry"),
    "directory": ([_info("envelopes", tarfile.DIRTYPE)], "not a regular file"),
    "duplicate": ([_info("instance-salt"), _info("instance-salt")], "twice"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_archive_restores_nothing(case: str, source: Instance, identity_file: Path,
                                          tmp_path: Path,
        target_url: str | None) -> None:
    infos, expected = HOSTILE[case]
    members = [(info, b"\0" * 16) for info in infos]
    backup = _sealed_tar(members, source.identity.public, tmp_path / f"{case}.backup")
    _assert_refused(tmp_path, backup, identity_file, expected, target_url)


def test_rows_without_files_restore_nothing(source: Instance, identity_file: Path,
                                            tmp_path: Path,
        target_url: str | None) -> None:
    header = b'{"drop_backup_db": 1, "envelope_seq_high_water": 1}\n'
    reporter = {"id": "b" * 32, "login_hash": "c" * 64,
                "reply_key": str(keys.ReplyKeyPair.generate().public),
                "created_day": "2026-11-01", "last_active_day": "2026-11-01"}
    envelope = {"seq": 1, "id": "d" * 32, "reporter_id": "b" * 32, "kind": "report",
                "parent_id": None, "size": 10, "day": "2026-11-01", "emergency": False,
                "signature": None, "responder": None}
    lines = header + b"".join(json.dumps({"t": t, "r": r}).encode() + b"\n"
                              for t, r in (("reporters", reporter), ("envelopes", envelope)))
    instance = source.config.instance_dir
    backup = _sealed_tar([(_info("keyring.json"), (instance / "keyring.json").read_bytes()),
                          (_info("instance-salt"), (instance / "instance-salt").read_bytes()),
                          (_info("database.jsonl"), lines)],
                         source.identity.public, tmp_path / "no-files.backup")
    _assert_refused(tmp_path, backup, identity_file, "do not match its database", target_url)


def test_refuses_a_non_empty_instance(source: Instance, backup_file: Path,
                                      identity_file: Path) -> None:
    before = rows(source.config.database_url)
    result = run(source.config.instance_dir, "restore", "--from", str(backup_file),
                 "--identity", str(identity_file), database_url=source.backend.url)
    assert result.exit_code == 1
    assert "not empty" in result.output
    assert rows(source.config.database_url) == before


def test_envelope_deleted_after_the_snapshot_leaves_with_its_row(
    source: Instance, identity_file: Path, tmp_path: Path, target_url: str | None
) -> None:
    # The moment between a deletion's row removal and its file wipe, seen from the
    # other side: the snapshot has the row, the file is already gone.
    with source.database.session() as session:
        victim = session.scalars(select(Envelope.id).where(Envelope.kind == "followup")).one()
    source.store.secure_delete(victim)
    backup = tmp_path / "racy.backup"
    result = run(source.config.instance_dir, "backup", "--to", str(backup),
                 database_url=source.backend.url)
    assert result.exit_code == 0 and "2 envelopes" in result.output
    target, restored = restore(tmp_path, backup, identity_file, database_url=target_url)
    assert restored.exit_code == 0, restored.output
    ids = [row[1] for row in rows(target_url or sqlite_url(target))["envelopes"]]
    assert victim not in ids and len(ids) == 2


@pytest.mark.parametrize(("case", "expected"), [
    ("no-keyring", "holds no keyring"),
    ("short-salt", "not 16 bytes"),
    ("long-line", "line 1: the line is too long"),
    ("bad-row", "line 2: a day must be YYYY-MM-DD"),
])
def test_hostile_instance_files_and_rows_restore_nothing(
    case: str, expected: str, source: Instance, identity_file: Path, tmp_path: Path
,
        target_url: str | None) -> None:
    instance = source.config.instance_dir
    header = b'{"drop_backup_db": 1, "envelope_seq_high_water": 0}\n'
    reporter = {"id": "b" * 32, "login_hash": "c" * 64,
                "reply_key": str(keys.ReplyKeyPair.generate().public),
                "created_day": "2026-11-01", "last_active_day": "yesterday"}
    database = {"long-line": b" " * 70_000 + header,
                "bad-row": header + json.dumps({"t": "reporters", "r": reporter}).encode()
                }.get(case, header)
    members = [(_info("keyring.json"), (instance / "keyring.json").read_bytes()),
               (_info("instance-salt"), b"short" if case == "short-salt" else b"s" * 16),
               (_info("database.jsonl"), database)]
    if case == "no-keyring":
        members = members[1:]
    backup = _sealed_tar(members, source.identity.public, tmp_path / f"{case}.backup")
    _assert_refused(tmp_path, backup, identity_file, expected, target_url)


def test_data_after_the_archive_restores_nothing(source: Instance, identity_file: Path,
                                                 tmp_path: Path,
        target_url: str | None) -> None:
    instance = source.config.instance_dir
    members = [(_info("keyring.json"), (instance / "keyring.json").read_bytes())]
    backup = _sealed_tar(members, source.identity.public, tmp_path / "trailing.backup",
                         trailing=b"smuggled")
    _assert_refused(tmp_path, backup, identity_file, "data after the end", target_url)
