"""What must hold after every reliability scenario, checked on a real instance dir.

- the store is consistent: every envelope row has its file and every file its
  row, `tmp/` is empty after a restart, and the database is intact: SQLite's
  `PRAGMA integrity_check` says ok, or on PostgreSQL (`database_url`) amcheck
  finds no damaged heap page and no index entry out of step with its table;
- every stored report decrypts with the test responder's identity, with all
  its attachments, each exactly the bytes that were sent;
- no plaintext marker and no codename anywhere (tests/plaintext_scan.py);
- the logs hold no IP address, no user agent and no codename.
"""

from __future__ import annotations

import hashlib
import io
import re
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from keys import Report, ResponderIdentity, decode_message, decrypt
from tests.plaintext_scan import assert_no_plaintext

Row = tuple[str, str, str | None]

_IPV4 = re.compile(rb"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])")
# Full IPv6 forms need 8 groups; "hh:mm:ss" timestamps must not match, "::1" must.
_IPV6 = re.compile(
    rb"(?<![0-9A-Fa-f:])(?:(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}"
    rb"|(?:[0-9A-Fa-f]{1,4}:){0,6}:(?::?[0-9A-Fa-f]{1,4}){1,7})(?![0-9A-Fa-f:])"
)
# A time of day (hh:mm, hh:mm:ss): the drop keeps dates only, never finer than a day.
_TIME_OF_DAY = re.compile(rb"(?<!\d)(?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d)?(?!\d)")
_USER_AGENTS = (b"python-requests", b"Mozilla/", b"Chrome/", b"Firefox/", b"curl/")
# Envelopes above this size get the raw needle scan only: the full scanner
# (base64 runs, inflate attempts) costs seconds per megabyte of ciphertext.
FULL_SCAN_LIMIT = 1024 * 1024


class _HashSink:
    def __init__(self) -> None:
        self.digest = hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        return len(data)


@dataclass(frozen=True)
class StoredReport:
    """One decrypted report and the SHA-256 of each of its decrypted attachments."""

    report_id: str
    text: str
    attachment_sha256: tuple[str, ...]


def snapshot_database(instance: Path, destination: Path) -> Path:
    """A copy of the database (and its WAL) in `destination`.

    SQLite resolves symbolic links, so it cannot open a file through
    `/proc/<pid>/root/` (a server in its own mount namespace); a copy can.
    """
    destination.mkdir(parents=True, exist_ok=True)
    copy = destination / f"snapshot-{len(list(destination.iterdir()))}.sqlite3"
    for suffix in ("", "-wal"):
        source = instance / f"drop.sqlite3{suffix}"
        if source.exists():
            shutil.copyfile(source, copy.with_name(copy.name + suffix))
    return copy


def integrity_check(database: Path) -> str:
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30)
    try:
        return str(connection.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        connection.close()


_ROWS_SQL = "SELECT id, kind, parent_id FROM envelopes ORDER BY seq"


def rows(database: Path) -> list[Row]:
    """(id, kind, parent_id) of every envelope row of a SQLite file."""
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30)
    try:
        return [(str(r[0]), str(r[1]), None if r[2] is None else str(r[2]))
                for r in connection.execute(_ROWS_SQL)]
    finally:
        connection.close()


def postgres_rows(url: str) -> list[Row]:
    """(id, kind, parent_id) of every envelope row of a PostgreSQL database."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return [(str(r[0]), str(r[1]), None if r[2] is None else str(r[2]))
                    for r in connection.execute(text(_ROWS_SQL))]
    finally:
        engine.dispose()


def postgres_integrity_problems(url: str) -> list[str]:
    """What amcheck finds wrong: damaged heap tuples, btree indexes out of step with their table.

    Empty when the database is intact: PostgreSQL's counterpart of SQLite's
    `PRAGMA integrity_check`. Installs the amcheck extension (contrib, shipped
    with Debian's server package) into the test database.
    """
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    problems: list[str] = []
    try:
        with engine.connect() as connection:
            connection.execute(text("CREATE EXTENSION IF NOT EXISTS amcheck"))
            for table in ("reporters", "envelopes", "api_nonces"):
                for found in connection.execute(
                        text("SELECT blkno, offnum, msg FROM verify_heapam(:t)"), {"t": table}):
                    problems.append(f"{table} block {found[0]} item {found[1]}: {found[2]}")
            indexes = connection.execute(text(
                "SELECT c.oid, c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                "JOIN pg_am am ON am.oid = c.relam WHERE am.amname = 'btree' "
                "AND c.relnamespace = 'public'::regnamespace")).all()
            assert indexes, "the database has no index to check"
            for oid, name in indexes:
                try:
                    # heapallindexed: every live row of the table is found in the index.
                    connection.execute(text("SELECT bt_index_check(:oid, true)"), {"oid": oid})
                except DBAPIError as error:  # amcheck reports damage as an ERROR
                    problems.append(f"index {name}: {error}")
    finally:
        engine.dispose()
    return problems


def stored_rows(instance: Path, database_url: str | None = None) -> list[Row]:
    """Envelope rows of the instance's SQLite file, or of the PostgreSQL database given."""
    return postgres_rows(database_url) if database_url else rows(instance / "drop.sqlite3")


def leftover_temp_files(instance: Path) -> list[str]:
    return sorted(p.name for p in (instance / "tmp").iterdir())


def assert_store_consistent(
    instance: Path, temp_must_be_empty: bool = True, database_url: str | None = None
) -> list[Row]:
    """Rows and files match one to one, the database is intact, tmp/ is empty (if asked).

    The database is the instance's SQLite file, or PostgreSQL at `database_url`.
    """
    if database_url:
        assert postgres_integrity_problems(database_url) == []
    else:
        assert integrity_check(instance / "drop.sqlite3") == "ok"
    stored = stored_rows(instance, database_url)
    row_ids = {r[0] for r in stored}
    file_ids = {p.name for p in (instance / "envelopes").iterdir()}
    assert row_ids - file_ids == set(), f"rows without files: {sorted(row_ids - file_ids)}"
    assert file_ids - row_ids == set(), f"files without rows: {sorted(file_ids - row_ids)}"
    if temp_must_be_empty:
        leftovers = leftover_temp_files(instance)
        assert leftovers == [], f"temp files left: {leftovers}"
    return stored


def open_reports(instance: Path, identity: ResponderIdentity, spool: Path,
                 database_url: str | None = None) -> list[StoredReport]:
    """Decrypt every report and its attachments; raises keys errors on any damaged envelope.

    Rows come from the instance's SQLite file, or from PostgreSQL at `database_url`.
    """
    stored = stored_rows(instance, database_url)
    found = []
    for envelope_id, kind, _parent in stored:
        if kind != "report":
            continue
        plain = io.BytesIO()
        with open(instance / "envelopes" / envelope_id, "rb") as source:
            decrypt(source, plain, identity)
        report = decode_message(plain.getvalue())
        assert isinstance(report, Report)
        digests = []
        for child_id, child_kind, parent in stored:
            if parent == envelope_id and child_kind == "attachment":
                sink = _HashSink()
                with open(instance / "envelopes" / child_id, "rb") as source:
                    decrypt(source, sink, identity, spool_dir=spool)  # type: ignore[arg-type,unused-ignore]
                digests.append(sink.digest.hexdigest())
        found.append(StoredReport(envelope_id, report.text, tuple(sorted(digests))))
    return found


def assert_no_plaintext_at_rest(paths: list[Path], marker: str, *codenames: str) -> None:
    """The full scan over every small file, raw forms over big envelopes (see FULL_SCAN_LIMIT)."""
    small: list[Path] = []
    big: list[Path] = []
    for root in paths:
        files = [root] if root.is_file() else [p for p in root.rglob("*") if p.is_file()]
        for path in files:
            (big if path.stat().st_size > FULL_SCAN_LIMIT else small).append(path)
    assert_no_plaintext(small, marker, *codenames)
    needles = [marker.encode(), marker.encode("utf-16-le"), marker.encode().hex().encode()]
    needles += [c.encode() for c in codenames]
    for path in big:
        with open(path, "rb") as handle:
            overlap = b""
            while chunk := handle.read(4 * FULL_SCAN_LIMIT):
                window = overlap + chunk
                assert not any(n in window for n in needles), f"plaintext in {path}"
                overlap = window[-256:]


def times_of_day(log_bytes: bytes) -> list[bytes]:
    """Every time-of-day stamp in the logs (the drop may log days, nothing finer)."""
    return _TIME_OF_DAY.findall(log_bytes)


def assert_logs_clean(log_bytes: bytes, codenames: list[str]) -> None:
    """No IP address, no user agent, no codename (nor a run of its words) in the logs."""
    ips = _IPV4.findall(log_bytes) + _IPV6.findall(log_bytes)
    assert ips == [], f"IP addresses in the logs: {ips[:5]}"
    for agent in _USER_AGENTS:
        assert agent not in log_bytes, f"a user agent ({agent!r}) is in the logs"
    lowered = log_bytes.lower()
    for codename in codenames:
        words = codename.split()
        for start in range(len(words) - 2):
            run = " ".join(words[start:start + 3]).encode()
            assert run not in lowered, "three codename words in a row are in the logs"
