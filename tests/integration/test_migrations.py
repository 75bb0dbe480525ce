"""Alembic migrations on a real SQLite file and a real PostgreSQL server.

For each database: `upgrade head` on an empty database yields exactly the
schema of the models (autogenerate finds no difference); a database created
at revision 0001 and holding data upgrades to head with every row and every
`seq` intact; and after the upgrade a deleted newest envelope's `seq` is never
handed out again (the responders' cursor relies on it).
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import delete, inspect, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from dropbox.db import Base, Envelope, Reporter, alembic_config, make_engine, upgrade_schema
from tests.pg_server import PostgresServer


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An engine on a brand-new empty database of each kind."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'drop.sqlite3'}")
        yield engine
        engine.dispose()
        return
    cluster: PostgresServer = request.getfixturevalue("postgres_cluster")
    with cluster.fresh_database() as url:
        engine = make_engine(url)
        yield engine
        engine.dispose()


def _upgrade(engine: Engine, revision: str) -> None:
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)


def _revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def test_head_matches_the_models(empty_database: Engine, tmp_path: Path) -> None:
    upgrade_schema(empty_database, tmp_path / ".migrate.lock")
    with empty_database.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []
    indexes = {ix["name"] for ix in inspect(empty_database).get_indexes("envelopes")}
    assert {"ix_envelopes_day", "ix_envelopes_reporter_id"} <= indexes
    assert _revision(empty_database) == "0002"


def test_upgrade_from_0001_keeps_rows_and_never_reuses_a_seq(
    empty_database: Engine, tmp_path: Path
) -> None:
    _upgrade(empty_database, "0001")
    assert _revision(empty_database) == "0001"
    assert "ix_envelopes_day" not in {
        ix["name"] for ix in inspect(empty_database).get_indexes("envelopes")}
    reporter_id = secrets.token_hex(16)
    old_day = dt.date(2026, 1, 2)
    ids = [secrets.token_hex(16) for _ in range(3)]
    # The 0001 schema has exactly the models' columns, so the models can write it.
    with Session(empty_database) as session, session.begin():
        session.add(Reporter(id=reporter_id, login_hash=secrets.token_hex(32),
                             reply_key="drop-reply-x", created_day=old_day,
                             last_active_day=old_day))
        session.flush()
        for index, envelope_id in enumerate(ids):
            session.add(Envelope(id=envelope_id, reporter_id=reporter_id,
                                 kind="report" if index == 0 else "attachment",
                                 parent_id=None if index == 0 else ids[0],
                                 size=100 + index, day=old_day, emergency=index == 0))
    with Session(empty_database) as session:
        before = [(e.seq, e.id, e.kind, e.parent_id, e.size, e.day, e.emergency)
                  for e in session.scalars(select(Envelope).order_by(Envelope.seq))]

    upgrade_schema(empty_database, tmp_path / ".migrate.lock")

    assert _revision(empty_database) == "0002"
    with Session(empty_database) as session:
        after = [(e.seq, e.id, e.kind, e.parent_id, e.size, e.day, e.emergency)
                 for e in session.scalars(select(Envelope).order_by(Envelope.seq))]
        reporter = session.get(Reporter, reporter_id)
        assert reporter is not None and reporter.last_active_day == old_day
    assert after == before
    newest_seq = before[-1][0]
    with Session(empty_database) as session, session.begin():
        session.execute(delete(Envelope).where(Envelope.seq == newest_seq))
    with Session(empty_database) as session, session.begin():
        fresh = Envelope(id=secrets.token_hex(16), reporter_id=reporter_id, kind="report",
                         size=1)
        session.add(fresh)
        session.flush()
        assert fresh.seq > newest_seq
    with empty_database.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []
