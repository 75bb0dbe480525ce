"""The envelope stores figure 7 compares, each timed the same way: files, large objects, bytea.

Files are the app's own `dropbox.storage.EnvelopeStore` (temp file, fsync,
rename, directory fsync). PostgreSQL large objects are written in 1 MiB
`lowrite` calls, one transaction per envelope; `bytea` rows suit small
envelopes only. Each write, read and delete returns the seconds it took; the
space, WAL and backup probes (`pg_dump`, `tar`) return what they found.

Fairness: tests/pg_server.py runs PostgreSQL with `fsync=off` (it is a test
server). So that a commit costs what it costs with `fsync=on`, `WalSync`
fdatasyncs, after every commit, the WAL segments written during the transaction
(what PostgreSQL's own commit does with the default `wal_sync_method=fdatasync`).
Checkpoint writes of the table pages are background work in both worlds and are
not timed.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from bench.measure import MiB
from dropbox.storage import EnvelopeStore
from tests.pg_server import PostgresServer, bin_dir

CHUNK = MiB  # the unit of every read and write, as the responder API's fetch streams
INV_READ, INV_WRITE = 0x40000, 0x20000


class WalSync:
    """fdatasync the WAL segments a transaction wrote (the commit's cost with fsync=on)."""

    def __init__(self, data_dir: Path) -> None:
        self.wal_dir = data_dir / "pg_wal"
        self.since = time.time_ns()

    def begin(self) -> None:
        # mtime is kept at jiffy granularity: step back 20 ms to include the segment in use.
        self.since = time.time_ns() - 20_000_000

    def commit(self, conn: psycopg.Connection) -> None:
        conn.commit()
        for entry in os.scandir(self.wal_dir):
            if len(entry.name) == 24 and entry.stat().st_mtime_ns >= self.since:
                fd = os.open(entry.path, os.O_RDONLY)
                try:
                    os.fdatasync(fd)
                finally:
                    os.close(fd)


def _psycopg_url(sqlalchemy_url: str) -> str:
    return make_url(sqlalchemy_url).set(drivername="postgresql").render_as_string(
        hide_password=False)


# --- files, as the app does it ------------------------------------------------------------

def files_write(store: EnvelopeStore, pieces: list[Iterator[bytes]]) -> tuple[float, list[str]]:
    """Each item of `pieces` is one envelope's chunks, stored exactly as the app does."""
    ids = [secrets.token_hex(16) for _ in pieces]
    start = time.perf_counter()
    for envelope_id, chunks in zip(ids, pieces, strict=True):
        temp, handle = store.new_temp()
        with handle:
            for chunk in chunks:
                handle.write(chunk)
        store.commit(temp, envelope_id)
    return time.perf_counter() - start, ids


def files_read(store: EnvelopeStore, ids: list[str]) -> float:
    start = time.perf_counter()
    for envelope_id in ids:
        with store.open(envelope_id) as handle:
            while handle.read(CHUNK):
                pass
    return time.perf_counter() - start


def files_delete(store: EnvelopeStore, ids: list[str]) -> float:
    start = time.perf_counter()
    for envelope_id in ids:
        store.secure_delete(envelope_id)
    return time.perf_counter() - start


def disk_bytes(directory: Path) -> int:
    return sum(entry.stat().st_blocks * 512 for entry in os.scandir(directory))


# --- PostgreSQL large objects -------------------------------------------------------------

def lo_write(conn: psycopg.Connection, wal: WalSync,
             pieces: list[Iterator[bytes]]) -> tuple[float, list[int]]:
    """Each item of `pieces` is one envelope's chunks; one transaction per envelope."""
    oids: list[int] = []
    start = time.perf_counter()
    for chunks in pieces:
        wal.begin()
        with conn.cursor() as cur:
            oid = cur.execute("SELECT lo_create(0)").fetchone()[0]  # type: ignore[index]
            fd = cur.execute("SELECT lo_open(%s, %s)", (oid, INV_WRITE)).fetchone()[0]  # type: ignore[index]
            for chunk in chunks:
                cur.execute("SELECT lowrite(%s, %b)", (fd, chunk))
            cur.execute("SELECT lo_close(%s)", (fd,))
        wal.commit(conn)
        oids.append(oid)
    return time.perf_counter() - start, oids


def lo_read(conn: psycopg.Connection, oids: list[int]) -> float:
    start = time.perf_counter()
    for oid in oids:
        with conn.cursor(binary=True) as cur:
            fd = cur.execute("SELECT lo_open(%s, %s)", (oid, INV_READ)).fetchone()[0]  # type: ignore[index]
            while cur.execute("SELECT loread(%s, %s)", (fd, CHUNK)).fetchone()[0]:  # type: ignore[index]
                pass
            cur.execute("SELECT lo_close(%s)", (fd,))
        conn.commit()
    return time.perf_counter() - start


def lo_delete(conn: psycopg.Connection, wal: WalSync, oids: list[int]) -> float:
    """lo_unlink per envelope (one transaction each, like a per-item delete), then VACUUM."""
    start = time.perf_counter()
    for oid in oids:
        wal.begin()
        conn.execute("SELECT lo_unlink(%s)", (oid,))
        wal.commit(conn)
    conn.autocommit = True
    try:
        conn.execute("VACUUM pg_largeobject, pg_largeobject_metadata")
    finally:
        conn.autocommit = False
    return time.perf_counter() - start


# --- bytea (small envelopes only) ---------------------------------------------------------

def bytea_write(conn: psycopg.Connection, wal: WalSync,
                payloads: list[bytes]) -> tuple[float, list[str]]:
    ids = [secrets.token_hex(16) for _ in payloads]
    start = time.perf_counter()
    for envelope_id, payload in zip(ids, payloads, strict=True):
        wal.begin()
        conn.execute("INSERT INTO envelope_bytes (id, data) VALUES (%s, %b)",
                     (envelope_id, payload))
        wal.commit(conn)
    return time.perf_counter() - start, ids


def bytea_read(conn: psycopg.Connection, ids: list[str]) -> float:
    start = time.perf_counter()
    with conn.cursor(binary=True) as cur:
        for envelope_id in ids:
            cur.execute("SELECT data FROM envelope_bytes WHERE id = %s", (envelope_id,)).fetchone()
    conn.commit()
    return time.perf_counter() - start


# --- space, WAL and backups ----------------------------------------------------------------

def relation_bytes(conn: psycopg.Connection, *names: str) -> int:
    total = 0
    for name in names:
        total += conn.execute("SELECT pg_total_relation_size(%s)", (name,)).fetchone()[0]  # type: ignore[index]
    conn.commit()
    return total


def wal_lsn(conn: psycopg.Connection) -> int:
    value = conn.execute("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn").fetchone()[0]  # type: ignore[index]
    conn.commit()
    return int(value)


def pg_dump_seconds(server: PostgresServer, database_url: str, out: Path) -> tuple[float, int]:
    """`pg_dump -Fc -Z0` of the database to `out`: (seconds, bytes); the dump is deleted."""
    parsed = make_url(database_url)
    start = time.perf_counter()
    subprocess.run([str(bin_dir() / "pg_dump"), "-h", "127.0.0.1", "-p", str(parsed.port),
                    "-U", "postgres", "-Fc", "-Z0", "-f", str(out), str(parsed.database)],
                   check=True, capture_output=True)
    elapsed = time.perf_counter() - start
    size = out.stat().st_size
    out.unlink()
    return elapsed, size


def tar_seconds(directory: Path, out: Path) -> tuple[float, int]:
    """An uncompressed tar of `directory` to `out`: (seconds, bytes); the archive is deleted."""
    start = time.perf_counter()
    with tarfile.open(out, "w") as archive:
        archive.add(directory, arcname="envelopes")
    elapsed = time.perf_counter() - start
    size = out.stat().st_size
    out.unlink()
    return elapsed, size


def open_bench_database(server: PostgresServer) -> tuple[str, psycopg.Connection]:
    """A new database on `server` with the `envelope_bytes` table; its URL and a connection."""
    url = server.create_database()
    conn = psycopg.connect(_psycopg_url(url))
    # STORAGE EXTERNAL: ciphertext does not compress, so do not try.
    conn.execute("CREATE TABLE envelope_bytes (id text PRIMARY KEY, data bytea)")
    conn.execute("ALTER TABLE envelope_bytes ALTER COLUMN data SET STORAGE EXTERNAL")
    conn.commit()
    return url, conn
