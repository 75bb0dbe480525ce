"""Fixtures every layer shares: the database backend a test runs on.

The drop supports two stores, SQLite in the instance dir and PostgreSQL
(issue #7: both first-class). A test (or a fixture that builds an app or an
instance) that asks for `backend` runs once on each: `[sqlite]` and
`[postgresql]`. The PostgreSQL server is started once per session, the first
time a `[postgresql]` test needs it (tests/pg_server.py: Debian's binaries,
127.0.0.1 only), and each test gets a fresh database, dropped afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.backends import SQLITE, Backend
from tests.pg_server import PostgresServer, running_postgres


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresServer]:
    """One real PostgreSQL server for the session (started only if a test asks for it)."""
    with running_postgres() as server:
        yield server


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    """Each store in turn; for PostgreSQL, a database of this test's own."""
    if request.param == "sqlite":
        yield SQLITE
        return
    cluster: PostgresServer = request.getfixturevalue("postgres_cluster")
    with cluster.fresh_database() as url:
        yield Backend("postgresql", url)
