"""Fixtures for the backup and restore tests: a populated source instance and its backup.

`source` runs once on each store (`backend`, tests/conftest.py): two reporters,
three envelopes (one of 150 kB), a deleted newest envelope (so the seq
high-water mark is above the highest row), an API nonce and onion keys.
`target_url` is where a restore writes: a fresh database on the source's store.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import delete

from dropbox.db import ApiNonce, Envelope
from keys.identity_file import save_identity
from tests.backends import Backend
from tests.backup_support import run_cli
from tests.instance_builder import Instance, make_instance
from tests.journalist_support import PASSPHRASE
from tests.pg_server import PostgresServer

DAY = dt.date(2026, 11, 2)


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
    result = run_cli(source.config.instance_dir, "backup", "--to", str(path),
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
