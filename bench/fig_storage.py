"""Figure 7: where envelope ciphertext lives: files on a shared volume, or PostgreSQL.

The drop stores each envelope as a file (`dropbox.storage.EnvelopeStore`). The
alternative for several backends is the database they already share:
PostgreSQL large objects or, for small envelopes only, a `bytea` column (the
stores and how each is timed: bench/storage_backends.py). Measured side by
side on the same disk, in the same run: writing N small envelopes and one large
one, reading them back as the responder API's fetch does, deleting them as the
purge does, the space they take, the WAL they cost, and a `pg_dump` of them.

PostgreSQL runs with `fsync=off` here, so every commit fdatasyncs the WAL it
wrote, as `fsync=on` would; the WAL volume row shows that the database writes
every byte twice.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from bench.measure import MB, Figure, MiB, Options
from bench.storage_backends import (
    CHUNK,
    WalSync,
    bytea_read,
    bytea_write,
    disk_bytes,
    files_delete,
    files_read,
    files_write,
    lo_delete,
    lo_read,
    lo_write,
    open_bench_database,
    pg_dump_seconds,
    relation_bytes,
    tar_seconds,
    wal_lsn,
)
from dropbox.storage import EnvelopeStore
from tests.pg_server import running_postgres

TITLE = "Envelope storage: files on a volume vs PostgreSQL large objects / bytea"

SMALL_SIZE = 2 * 1024
SMALL_COUNT = 2_000
_RANDOM_BLOCK = os.urandom(CHUNK)  # ciphertext is incompressible; so is this


def _chunks(size: int) -> Iterator[bytes]:
    full, rest = divmod(size, CHUNK)
    yield from [_RANDOM_BLOCK] * full
    if rest:
        yield _RANDOM_BLOCK[:rest]


def _small_payloads() -> list[bytes]:
    return [os.urandom(SMALL_SIZE) for _ in range(SMALL_COUNT)]


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
        url, conn = open_bench_database(server)
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
