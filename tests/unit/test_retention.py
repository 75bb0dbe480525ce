"""`dropbox.retention.purge` on a real instance: what goes, what stays, and how.

Every test runs on SQLite and on a real PostgreSQL server (`backend`).
Files: a hard link taken before the purge still points at the file's data
blocks after the unlink, so reading it shows what the purge left in them
(zeros, if it overwrote before unlinking). Rows: on SQLite the login hash of a
purged reporter is searched for in the raw bytes of the database and its WAL;
on PostgreSQL, whose plain VACUUM only marks dead rows' space reusable
(deploy/README.md), in a `pg_dump` of the database.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from dropbox.cli import cli
from dropbox.db import ApiNonce, today
from dropbox.reporter.sinks import UploadBatch
from dropbox.retention import RetentionError, purge
from tests.backends import Backend
from tests.instance_builder import Instance, make_instance

TODAY = dt.date(2026, 11, 24)


def days_ago(n: int) -> dt.date:
    return TODAY - dt.timedelta(days=n)


@pytest.fixture
def instance(tmp_path: Path, backend: Backend) -> Iterator[Instance]:
    built = make_instance(tmp_path, backend=backend)
    yield built
    built.database.engine.dispose()


@pytest.fixture
def sqlite_instance(tmp_path: Path) -> Iterator[Instance]:
    built = make_instance(tmp_path)
    yield built
    built.database.engine.dispose()


def stored_database_bytes(instance: Instance, scratch: Path) -> bytes:
    """SQLite: the raw database file and its WAL. PostgreSQL: a dump of every row."""
    if instance.backend.is_postgres:
        return b"".join(p.read_bytes() for p in instance.backend.at_rest_paths(scratch))
    base = instance.config.instance_dir / "drop.sqlite3"
    return b"".join(p.read_bytes() for p in (base, base.with_name("drop.sqlite3-wal"))
                    if p.exists())


def test_old_envelopes_go_recent_ones_stay(instance: Instance) -> None:
    reporter = instance.add_reporter(last_active=days_ago(1), created=days_ago(200))
    old_report = instance.add_envelope(reporter, days_ago(91))
    old_attachment = instance.add_envelope(reporter, days_ago(91), kind="attachment",
                                           parent_id=old_report)
    old_reply = instance.add_envelope(reporter, days_ago(120), kind="reply")
    edge = instance.add_envelope(reporter, days_ago(90), kind="followup")
    recent = instance.add_envelope(reporter, days_ago(3), kind="followup", emergency=True)

    result = purge(instance.config, TODAY)

    assert instance.envelope_ids() == {edge, recent}
    assert result.envelopes == 3
    for gone in (old_report, old_attachment, old_reply):
        assert not instance.store.exists(gone)
    for kept in (edge, recent):
        assert instance.store.exists(kept)
    assert instance.reporter_ids() == {reporter}


def test_purged_files_were_overwritten_before_unlink(instance: Instance,
                                                     tmp_path: Path) -> None:
    reporter = instance.add_reporter(last_active=days_ago(1))
    old = instance.add_envelope(reporter, days_ago(100), plaintext=os.urandom(200_000))
    path = instance.store.path(old)
    witness = tmp_path / "hard-link"
    os.link(path, witness)
    size = witness.stat().st_size
    assert witness.read_bytes().count(0) < size // 2

    purge(instance.config, TODAY)

    assert not path.exists()
    assert witness.read_bytes() == bytes(size)


def test_inactive_reporter_goes_with_everything(instance: Instance) -> None:
    gone = instance.add_reporter(last_active=days_ago(181))
    gone_envelopes = {instance.add_envelope(gone, days_ago(10)),
                      instance.add_envelope(gone, days_ago(2), kind="reply")}
    kept = instance.add_reporter(last_active=days_ago(179))
    kept_envelope = instance.add_envelope(kept, days_ago(5))

    result = purge(instance.config, TODAY)

    assert instance.reporter_ids() == {kept}
    assert instance.envelope_ids() == {kept_envelope}
    assert not any(instance.store.exists(e) for e in gone_envelopes)
    assert result.reporters == 1


def test_reporter_holding_nothing_goes_after_the_retention_period(
    instance: Instance,
) -> None:
    # Their report aged out and they never came back.
    aged_out = instance.add_reporter(last_active=days_ago(95))
    instance.add_envelope(aged_out, days_ago(95))
    # A responder deleted the fetched report last week and may still reply.
    emptied_recently = instance.add_reporter(last_active=days_ago(7))
    # Still has a reply waiting, so the account stays until it is inactive too long.
    waiting = instance.add_reporter(last_active=days_ago(100))
    instance.add_envelope(waiting, days_ago(4), kind="reply")

    purge(instance.config, TODAY)

    assert instance.reporter_ids() == {emptied_recently, waiting}


def test_old_nonces_dropped(instance: Instance) -> None:
    with instance.database.session() as session, session.begin():
        session.add_all([ApiNonce(nonce="old", day=days_ago(3)),
                         ApiNonce(nonce="yesterday", day=days_ago(1)),
                         ApiNonce(nonce="today", day=TODAY)])
    result = purge(instance.config, TODAY)
    with instance.database.session() as session:
        left = set(session.scalars(select(ApiNonce.nonce)))
    assert left == {"yesterday", "today"}
    assert result.nonces == 1


def test_orphan_files_wiped_only_when_abandoned(instance: Instance, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    abandoned = secrets.token_hex(16)
    instance.store.path(abandoned).write_bytes(b"\x01" * 1000)
    witness = tmp_path / "witness"
    os.link(instance.store.path(abandoned), witness)
    # Committed by a live request whose row is not written yet: leased, no row.
    in_flight = UploadBatch(instance.store)
    part, handle = in_flight.new_part()
    handle.write(b"\x02" * 1000)
    in_flight.close_file(handle)
    in_flight.commit()

    # Both ctimes are seconds old: inside the grace, nothing goes.
    assert purge(instance.config, TODAY).orphan_files == 0
    assert instance.store.path(abandoned).exists()
    # A test cannot age a ctime: drop the grace, so that only the lease and the row decide.
    monkeypatch.setattr("dropbox.retention.ORPHAN_GRACE_SECONDS", -60.0)
    result = purge(instance.config, TODAY)

    assert not instance.store.path(abandoned).exists()
    assert witness.read_bytes() == bytes(1000)
    assert instance.store.path(part.envelope_id).read_bytes() == b"\x02" * 1000
    assert result.orphan_files == 1
    in_flight.release()  # the request died before its row: now it is an orphan
    assert purge(instance.config, TODAY).orphan_files == 1
    assert not instance.store.path(part.envelope_id).exists()


def test_deleted_rows_leave_no_trace_in_the_database(instance: Instance,
                                                     tmp_path: Path) -> None:
    gone = instance.add_reporter(last_active=days_ago(400))
    instance.add_envelope(gone, days_ago(400))
    kept = instance.add_reporter(last_active=days_ago(1))
    marker = instance.login_hash(gone).encode()
    assert marker in stored_database_bytes(instance, tmp_path / "before")

    result = purge(instance.config, TODAY)

    # The WAL is SQLite's; PostgreSQL's purge reports no truncation (None).
    assert result.wal_truncated is (None if instance.backend.is_postgres else True)
    raw = stored_database_bytes(instance, tmp_path / "after")
    assert marker not in raw
    assert instance.login_hash(kept).encode() in raw


# SQLite only: secure_delete is SQLite's pragma; PostgreSQL has no such switch
# (what its VACUUM leaves is documented in deploy/README.md).
def test_purge_refuses_without_secure_delete(sqlite_instance: Instance,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    instance = sqlite_instance
    reporter = instance.add_reporter(last_active=days_ago(400))
    envelope = instance.add_envelope(reporter, days_ago(400))
    # As if SQLite were built without secure_delete support: the pragma stays 0.
    monkeypatch.setattr("dropbox.retention.open_database",
                        _open_without_secure_delete)
    with pytest.raises(RetentionError, match="secure_delete"):
        purge(instance.config, TODAY)
    assert instance.envelope_ids() == {envelope}
    assert instance.store.exists(envelope)


def _open_without_secure_delete(url: str, instance_dir: Path, *,
                                sqlite_secure_delete: bool = True) -> object:
    from dropbox.db import open_database
    return open_database(url, instance_dir, sqlite_secure_delete=False)


def test_purge_command(instance: Instance, monkeypatch: pytest.MonkeyPatch) -> None:
    reporter = instance.add_reporter(last_active=today())
    old = instance.add_envelope(reporter, today() - dt.timedelta(days=31))
    recent = instance.add_envelope(reporter, today())
    env = {"DROPBOX_INSTANCE": str(instance.config.instance_dir),
           "DROPBOX_RUNTIME_DIR": str(instance.config.runtime_dir),
           "DROPBOX_RETENTION_DAYS": "30", **instance.backend.env()}
    result = CliRunner().invoke(cli, ["purge"], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "purged 1 envelopes" in result.output
    assert instance.envelope_ids() == {recent}
    assert not instance.store.exists(old)


def test_attachment_whose_message_is_gone_goes_too(instance: Instance) -> None:
    reporter = instance.add_reporter(last_active=days_ago(1))
    report = instance.add_envelope(reporter, days_ago(2))
    kept = instance.add_envelope(reporter, days_ago(2), kind="attachment", parent_id=report)
    orphan = instance.add_envelope(reporter, days_ago(2), kind="attachment",
                                   parent_id=secrets.token_hex(16))
    purge(instance.config, TODAY)
    assert instance.envelope_ids() == {report, kept}
    assert not instance.store.exists(orphan)
