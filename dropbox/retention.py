"""Retention: what the drop forgets, and how (`dropbox purge`, run nightly by systemd).

Policy, all in whole UTC days (the only time the drop stores):

- an envelope (report, follow-up, attachment, reply) whose `day` is more than
  `DROPBOX_RETENTION_DAYS` (default 90) ago is deleted, with the attachments
  under it; an attachment whose message is gone goes too;
- a reporter not active (login, follow-up) for `DROPBOX_REPORTER_INACTIVE_DAYS`
  (default 180) is deleted with every envelope of theirs, replies included;
- a reporter left holding no envelope at all is deleted once their last
  activity is older than the retention period. The app creates an account in
  the same transaction as its first report, so an account that never submitted
  cannot normally exist; one that does holds nothing and falls under this rule.
  The grace period lets responders who deleted a fetched report still reply;
- accepted API nonces older than 2 days are dropped (FORMAT.md §7 needs 600 s);
- envelope files with no row (a crash between the row and the file deletion,
  or between the file's commit and its row's) are wiped once no live request
  leases them (flock, see dropbox.storage), their row is still absent when
  checked again under that lock, and their ctime is over an hour old. mtime
  cannot serve: every committed file's mtime is set to 00:00 of its day;
  ctime is set by the kernel at the commit and cannot be moved back;
- temp files of requests that no longer exist (a crashed or killed worker)
  are wiped; files still leased by a live upload are kept, however old.

"Deleted" means: rows removed in one transaction, then every file overwritten
with zeros, fsynced and unlinked (`EnvelopeStore.secure_delete`). On SQLite
the purge connection runs with `PRAGMA secure_delete=ON` (verified, not
assumed), then `VACUUM` rewrites the file without free pages and a
`wal_checkpoint(TRUNCATE)` empties the write-ahead log. On PostgreSQL the
tables are `VACUUM`ed; what that does and does not erase is in deploy/README.md.

Each run also resets every envelope file's atime/mtime to 00:00 UTC of its day,
which sets every ctime to the run's instant: ctime, which no process can set,
then keeps a precise instant only for files committed since the last run.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import time
from dataclasses import dataclass
from functools import partial
from typing import Any, cast

from sqlalchemy import delete, exists, select, text
from sqlalchemy.engine import Connection, CursorResult
from sqlalchemy.orm import Session, aliased

from dropbox.config import Config
from dropbox.db import ApiNonce, Database, Envelope, Reporter, open_database, today
from dropbox.storage import EnvelopeStore, set_day_times

NONCE_KEEP_DAYS = 2
# Some writers commit a file before its row without holding a lease through the
# row's commit (a reply pushed over the API): an hour of ctime covers them.
ORPHAN_GRACE_SECONDS = 3600.0
_ID_RE = re.compile(r"\A[0-9a-f]{32}\Z")
_TABLES = ("envelopes", "reporters", "api_nonces")


class RetentionError(Exception):
    """The purge could not guarantee what it promises; the message says what to fix."""


@dataclass(frozen=True)
class PurgeResult:
    """What one purge removed (counts only: ids of deleted things are not kept anywhere)."""

    envelopes: int
    reporters: int
    nonces: int
    orphan_files: int
    temp_files: int
    wal_truncated: bool | None  # None: not SQLite

    def summary(self) -> str:
        wal = "" if self.wal_truncated is None else (
            ", write-ahead log truncated" if self.wal_truncated
            else ", write-ahead log NOT truncated (busy readers; it will be on the next run)")
        return (f"purged {self.envelopes} envelopes, {self.reporters} reporters, "
                f"{self.nonces} nonces, {self.orphan_files} orphan files, "
                f"{self.temp_files} temp files{wal}")


def _require_secure_delete(session: Session) -> None:
    if session.get_bind().dialect.name != "sqlite":
        return
    # Temp b-trees of the deletes stay in memory too (see `_compact`).
    session.execute(text("PRAGMA temp_store=MEMORY"))
    value = session.execute(text("PRAGMA secure_delete")).scalar()
    if value != 1:
        raise RetentionError(
            "SQLite secure_delete is not on for the purge connection, so deleted rows "
            "would linger in free pages; nothing was deleted")


def _expired_envelopes(session: Session, cutoff: dt.date) -> set[str]:
    old = set(session.scalars(select(Envelope.id).where(Envelope.day < cutoff)))
    parent = aliased(Envelope)
    orphans = session.scalars(select(Envelope.id).where(
        Envelope.parent_id.is_not(None),
        ~exists().where(parent.id == Envelope.parent_id)))
    old.update(orphans)
    if old:
        old.update(session.scalars(select(Envelope.id).where(Envelope.parent_id.in_(old))))
    return old


def _doomed_reporters(session: Session, retention_cutoff: dt.date,
                      inactive_cutoff: dt.date) -> list[str]:
    """Reporters the policy deletes, locked so no live request can write for them meanwhile.

    PostgreSQL: FOR UPDATE blocks a concurrent login (UPDATE) and a new envelope
    (its foreign-key check) until the purge commits; a write that committed while
    the lock was awaited is seen by asking again under the lock, so an account that
    just became active or received an envelope is spared. SQLite: the purge already
    holds the database's one write lock (see `_delete_rows`).
    """
    holds_nothing = ~exists().where(Envelope.reporter_id == Reporter.id)
    condition = (Reporter.last_active_day < inactive_cutoff) \
        | ((Reporter.last_active_day < retention_cutoff) & holds_nothing)
    locked = list(session.scalars(select(Reporter.id).where(condition).with_for_update()))
    still: list[str] = []
    for chunk in _chunks(locked):
        still.extend(session.scalars(select(Reporter.id).where(
            Reporter.id.in_(chunk), condition)))
    return still


def _delete_rows(session: Session, config: Config, day: dt.date) -> tuple[list[str], int, int]:
    """Delete expired rows; returns (envelope ids deleted, reporters deleted, nonces deleted)."""
    retention_cutoff = day - dt.timedelta(days=config.retention_days)
    inactive_cutoff = day - dt.timedelta(days=config.reporter_inactive_days)
    # First, a write: pysqlite opens the transaction only at the first write, so on
    # SQLite this takes the write lock before anything is read, and the reads below
    # see the state the deletes act on (a login or follow-up waits, or fails).
    nonce_cutoff = day - dt.timedelta(days=NONCE_KEEP_DAYS)
    nonces = cast(CursorResult[Any], session.execute(
        delete(ApiNonce).where(ApiNonce.day < nonce_cutoff))).rowcount
    doomed = _expired_envelopes(session, retention_cutoff)
    for chunk in _chunks(sorted(doomed)):
        session.execute(delete(Envelope).where(Envelope.id.in_(chunk)))
    # After the expired envelopes: an account they were all of holds nothing now.
    reporters = _doomed_reporters(session, retention_cutoff, inactive_cutoff)
    for chunk in _chunks(reporters):
        ids = list(session.scalars(select(Envelope.id).where(Envelope.reporter_id.in_(chunk))))
        doomed.update(ids)
        session.execute(delete(Envelope).where(Envelope.reporter_id.in_(chunk)))
        session.execute(delete(Reporter).where(Reporter.id.in_(chunk)))
    return sorted(doomed), len(reporters), nonces


def _chunks(items: list[str], size: int = 500) -> list[list[str]]:
    # Keeps IN (...) lists under SQLite's bound-parameter limit.
    return [items[i:i + size] for i in range(0, len(items), size)]


def _has_no_row(database: Database, envelope_id: str) -> bool:
    with database.session() as session:
        return session.scalar(select(Envelope.id).where(Envelope.id == envelope_id)) is None


def _wipe_orphan_files(database: Database, store: EnvelopeStore) -> int:
    with database.session() as session:
        known = set(session.scalars(select(Envelope.id)))
    cutoff = time.time() - ORPHAN_GRACE_SECONDS
    wiped = 0
    for entry in os.scandir(store.envelopes_dir):
        if not _ID_RE.match(entry.name) or entry.name in known:
            continue
        try:
            if not entry.is_file(follow_symlinks=False) \
                    or entry.stat(follow_symlinks=False).st_ctime > cutoff:
                continue
        except FileNotFoundError:
            continue
        # The snapshot may predate a row committed since: ask again under the lock.
        if store.wipe_orphan(entry.name, partial(_has_no_row, database, entry.name)):
            wiped += 1
    return wiped


def _blur_file_times(store: EnvelopeStore) -> None:
    """Give every envelope file 00:00 UTC of its mtime's day, so resetting every ctime too.

    The kernel sets ctime to now on any metadata change and nothing can set
    it back, so this is the one way to blur it: after each run, all files
    committed before it share the run's ctime, and only files committed since
    the last run keep their own. Files from before day-only times get theirs here.
    """
    day_ns = 86_400 * 1_000_000_000
    for entry in os.scandir(store.envelopes_dir):
        try:
            if not _ID_RE.match(entry.name) or not entry.is_file(follow_symlinks=False):
                continue
            mtime_ns = entry.stat(follow_symlinks=False).st_mtime_ns
            midnight_ns = mtime_ns - mtime_ns % day_ns
            os.utime(entry.path, ns=(midnight_ns, midnight_ns), follow_symlinks=False)
        except FileNotFoundError:
            continue  # deleted meanwhile
    set_day_times(store.envelopes_dir)


def _compact(connection: Connection) -> bool | None:
    """Return the database's free space to nothing; True/False: was the WAL emptied."""
    if connection.dialect.name == "sqlite":
        # VACUUM builds a full copy of the database; past the page cache it would
        # spill to a file in TMPDIR that is unlinked without being overwritten.
        connection.exec_driver_sql("PRAGMA temp_store=MEMORY")
        connection.exec_driver_sql("VACUUM")
        busy = connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()[0]
        return bool(busy == 0)
    if connection.dialect.name == "postgresql":
        for table in _TABLES:
            connection.exec_driver_sql(f"VACUUM {table}")
    return None


def purge(config: Config, day: dt.date | None = None) -> PurgeResult:
    """Apply the retention policy to `config`'s instance as of `day` (default: today, UTC).

    Guarantees that when it returns, every expired row is deleted and every
    matching file was overwritten and unlinked. Raises RetentionError if SQLite
    secure_delete cannot be enabled (nothing is deleted then), OSError if a
    file cannot be wiped (rows are already gone; the next run wipes the file as
    an orphan), sqlalchemy errors if the database cannot be reached.
    """
    day = day or today()
    # Always on for the purge, whatever DROPBOX_SQLITE_SECURE_DELETE says for the apps.
    database = open_database(config.database_url, config.instance_dir,
                             sqlite_secure_delete=True)
    store = EnvelopeStore(config.instance_dir)
    try:
        with database.session() as session, session.begin():
            _require_secure_delete(session)
            envelope_ids, reporters, nonces = _delete_rows(session, config, day)
        for envelope_id in envelope_ids:
            store.secure_delete(envelope_id)
        orphan_files = _wipe_orphan_files(database, store)
        temp_files = store.cleanup_temp(older_than_seconds=ORPHAN_GRACE_SECONDS)
        _blur_file_times(store)
        with database.engine.connect() as raw:
            wal_truncated = _compact(raw.execution_options(isolation_level="AUTOCOMMIT"))
    finally:
        database.engine.dispose()
    return PurgeResult(envelopes=len(envelope_ids), reporters=reporters, nonces=nonces,
                       orphan_files=orphan_files, temp_files=temp_files,
                       wal_truncated=wal_truncated)
