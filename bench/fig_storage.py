"""Figure 7: where envelope ciphertext lives: files on a shared volume, or PostgreSQL.

The drop stores each envelope as a file (`dropbox.storage.EnvelopeStore`: temp
file, fsync, rename, directory fsync). The alternative for several backends is
the database they already share: PostgreSQL large objects (written in 1 MiB
`lowrite` calls, one transaction per envelope) or, for small envelopes only, a
`bytea` column. Measured side by side on the same disk, in the same run:
writing N small envelopes and one large one, reading them back as the responder
API's fetch does, deleting them as the purge does, the space they take, the
WAL they cost, and a `pg_dump` of them.

Fairness: tests/pg_server.py runs PostgreSQL with `fsync=off` (it is a test
server). So that a commit costs what it costs with `fsync=on`, this figure
fdatasyncs, after every commit, the WAL segments written during the transaction
(what PostgreSQL's own commit does with the default `wal_sync_method=fdatasync`).
Checkpoint writes of the table pages are background work in both worlds and are
not timed; the WAL volume row shows that the database writes every byte twice.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from bench.measure import MB, Figure, MiB, Options
from dropbox.storage import EnvelopeStore
from tests.pg_server import PostgresServer, bin_dir, running_postgres

TITLE = "Envelope storage: files on a volume vs PostgreSQL large objects / bytea"

SMALL_SIZE = 2 * 1024
SMALL_COUNT = 2_000
CHUNK = MiB
INV_READ, INV_WRITE = 0x40000, 0x20000
_RANDOM_BLOCK = os.urandom(CHUNK)  # ciphertext is incompressible; so is this


def _chunks(size: int) -> Iterator[bytes]:
    full, rest = divmod(size, CHUNK)
    yield from [_RANDOM_BLOCK] * full
    if rest:
        yield _RANDOM_BLOCK[:rest]


def _small_payloads() -> list[bytes]:
    return [os.urandom(SMALL_SIZE) for _ in range(SMALL_COUNT)]


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
    start = time.perf_counter()
    with tarfile.open(out, "w") as archive:
        archive.add(directory, arcname="envelopes")
    elapsed = time.perf_counter() - start
    size = out.stat().st_size
    out.unlink()
    return elapsed, size


def _setup(server: PostgresServer) -> tuple[str, psycopg.Connection]:
    url = server.create_database()
    conn = psycopg.connect(_psycopg_url(url))
    # STORAGE EXTERNAL: ciphertext does not compress, so do not try.
    conn.execute("CREATE TABLE envelope_bytes (id text PRIMARY KEY, data bytea)")
    conn.execute("ALTER TABLE envelope_bytes ALTER COLUMN data SET STORAGE EXTERNAL")
    conn.commit()
    return url, conn


def measure(options: Options) -> Figure:
    size = (500 if options.full else 200) * MB
    figure = Figure("storage", TITLE)
    samples: dict[str, list[float]] = {}

    def sample(key: str, value: float) -> None:
        samples.setdefault(key, []).append(value)

    small = _small_payloads()
    small_bytes = SMALL_SIZE * SMALL_COUNT
    with running_postgres() as server, tempfile.TemporaryDirectory(prefix="bench-storage-") as tmp:
        root = Path(tmp)
        url, conn = _setup(server)
        store = EnvelopeStore(root / "instance")
        wal = WalSync(server.data_dir)
        try:
            for run in range(options.runs):
                empty = relation_bytes(conn, "pg_largeobject", "pg_largeobject_metadata")
                empty_bytea = relation_bytes(conn, "envelope_bytes")
                lsn = wal_lsn(conn)
                seconds, ids = files_write(store, [iter([p]) for p in small])
                sample("files small write", SMALL_COUNT / seconds)
                seconds, oids = lo_write(conn, wal, [iter([p]) for p in small])
                sample("lo small write", SMALL_COUNT / seconds)
                lo_wal_small = wal_lsn(conn) - lsn
                lsn = wal_lsn(conn)
                seconds, bytea_ids = bytea_write(conn, wal, small)
                sample("bytea small write", SMALL_COUNT / seconds)
                bytea_wal = wal_lsn(conn) - lsn
                seconds, (large_id,) = files_write(store, [_chunks(size)])
                sample("files large write", size / MB / seconds)
                lsn = wal_lsn(conn)
                seconds, large_oids = lo_write(conn, wal, [_chunks(size)])
                sample("lo large write", size / MB / seconds)
                lo_wal_large = wal_lsn(conn) - lsn
                if run == 0:  # on a fresh database; later runs reuse the vacuumed space
                    stored_lo = relation_bytes(conn, "pg_largeobject",
                                               "pg_largeobject_metadata") - empty
                    sample("files size", disk_bytes(store.envelopes_dir) / MiB)
                    sample("lo size", stored_lo / MiB)
                    stored_bytea = relation_bytes(conn, "envelope_bytes") - empty_bytea
                    sample("bytea size", stored_bytea / MiB)
                    sample("lo wal small", lo_wal_small / small_bytes)
                    sample("lo wal large", lo_wal_large / size)
                    sample("bytea wal small", bytea_wal / small_bytes)

                sample("files small read", SMALL_COUNT / files_read(store, ids))
                sample("lo small read", SMALL_COUNT / lo_read(conn, oids))
                sample("bytea small read", SMALL_COUNT / bytea_read(conn, bytea_ids))
                sample("files large read", size / MB / files_read(store, [large_id]))
                sample("lo large read", size / MB / lo_read(conn, large_oids))

                seconds, dumped = pg_dump_seconds(server, url, root / "dump")
                sample("pg_dump s", seconds)
                sample("pg_dump MiB", dumped / MiB)
                seconds, archived = tar_seconds(store.envelopes_dir, root / "tar")
                sample("tar s", seconds)
                sample("tar MiB", archived / MiB)

                sample("files delete", files_delete(store, [*ids, large_id]))
                sample("lo delete", lo_delete(conn, wal, [*oids, *large_oids]))
                conn.execute("DELETE FROM envelope_bytes")
                conn.commit()
                conn.autocommit = True
                conn.execute("VACUUM envelope_bytes")
                conn.autocommit = False
        finally:
            conn.close()
            server.drop_database(url)
    _rows(figure, samples, size)
    return figure


_ROWS = (  # key in the samples, label ({n}: the small set, {mb}: the large one), unit
    ("files small write", "write {n}: files (tmp, fsync, rename, dir fsync)", "env/s"),
    ("lo small write", "write {n}: large objects (commit + WAL sync)", "env/s"),
    ("bytea small write", "write {n}: bytea rows (commit + WAL sync)", "env/s"),
    ("files large write", "write {mb}: files", "MB/s"),
    ("lo large write", "write {mb}: large object, 1 MiB lowrite", "MB/s"),
    ("files small read", "read {n}: files", "env/s"),
    ("lo small read", "read {n}: large objects (lo_open/loread)", "env/s"),
    ("bytea small read", "read {n}: bytea rows", "env/s"),
    ("files large read", "read {mb}: file", "MB/s"),
    ("lo large read", "read {mb}: large object, 1 MiB loread", "MB/s"),
    ("files delete", "delete all: files (zero, fsync, unlink)", "s"),
    ("lo delete", "delete all: lo_unlink per envelope + VACUUM", "s"),
    ("files size", "space, all envelopes: files (allocated blocks)", "MiB"),
    ("lo size", "space, all envelopes: pg_largeobject", "MiB"),
    ("bytea size", "space, {n}: bytea table incl. TOAST", "MiB"),
    ("lo wal small", "WAL per stored byte, {n} as large objects", "x"),
    ("lo wal large", "WAL per stored byte, {mb} as a large object", "x"),
    ("bytea wal small", "WAL per stored byte, {n} as bytea", "x"),
    ("pg_dump s", "backup: pg_dump -Fc -Z0 with the large objects", "s"),
    ("pg_dump MiB", "backup: pg_dump size", "MiB"),
    ("tar s", "backup: tar of the envelope files", "s"),
    ("tar MiB", "backup: tar size", "MiB"),
)
_RATIOS = (
    ("small write: large objects / files", "lo small write", "files small write"),
    ("small write: bytea / files", "bytea small write", "files small write"),
    ("large write: large object / file", "lo large write", "files large write"),
    ("small read: large objects / files", "lo small read", "files small read"),
    ("small read: bytea / files", "bytea small read", "files small read"),
    ("large read: large object / file", "lo large read", "files large read"),
    ("delete time: large objects / files", "lo delete", "files delete"),
    ("backup time: pg_dump / tar", "pg_dump s", "tar s"),
)


def _rows(figure: Figure, samples: dict[str, list[float]], size: int) -> None:
    names = {"n": f"{SMALL_COUNT:,} x 2 KiB", "mb": f"1 x {size // MB} MB"}
    rows = {key: figure.add(label.format(**names), samples[key], unit)
            for key, label, unit in _ROWS}
    for label, numerator, denominator in _RATIOS:
        figure.ratio(label, rows[numerator], rows[denominator])
    figure.notes.append("PostgreSQL runs with fsync=off (tests/pg_server.py); every commit here "
                        "fdatasyncs the WAL segments it wrote, as fsync=on would. Reads are "
                        "warm-cache. Checkpoint writes of table pages are not timed.")
