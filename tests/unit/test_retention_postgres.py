"""`dropbox.retention.purge` on a real PostgreSQL server (Debian's binaries, tests/pg_server.py).

The same policy as on SQLite: expired rows gone, their files overwritten and
unlinked, recent ones kept; VACUUM runs (there is no WAL to truncate).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from dropbox.retention import purge
from tests.instance_builder import Instance, make_instance
from tests.pg_server import postgres_server

# tests/pg_server.py leaves its server's stderr pipe open (reported to its owner).
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")

TODAY = dt.date(2026, 11, 24)


@pytest.fixture
def pg_instance(tmp_path: Path) -> Iterator[Instance]:
    with postgres_server() as url:
        built = make_instance(tmp_path, {"DROPBOX_DATABASE_URL": url})
        yield built
        built.database.engine.dispose()


def test_purge_on_postgres(pg_instance: Instance, tmp_path: Path) -> None:
    inactive = pg_instance.add_reporter(last_active=TODAY - dt.timedelta(days=200))
    inactive_reply = pg_instance.add_envelope(inactive, TODAY, kind="reply")
    active = pg_instance.add_reporter(last_active=TODAY)
    old = pg_instance.add_envelope(active, TODAY - dt.timedelta(days=100))
    recent = pg_instance.add_envelope(active, TODAY - dt.timedelta(days=1))
    witness = tmp_path / "witness"
    os.link(pg_instance.store.path(old), witness)
    size = witness.stat().st_size

    result = purge(pg_instance.config, TODAY)

    assert pg_instance.envelope_ids() == {recent}
    assert pg_instance.reporter_ids() == {active}
    assert not pg_instance.store.exists(old) and not pg_instance.store.exists(inactive_reply)
    assert witness.read_bytes() == bytes(size)
    assert (result.envelopes, result.reporters, result.wal_truncated) == (2, 1, None)
