"""`dropbox purge` racing a live request of a reporter it is about to delete.

A reporter inactive for longer than DROPBOX_REPORTER_INACTIVE_DAYS logs in and
sends a follow-up while the purge runs. Whatever the interleaving, a write the
app committed (and so acknowledged to the reporter) must survive the purge; a
write that could not commit is fine (the reporter is told it failed). The
live request is played at the instant the purge deletes the reporter's envelopes, on
a connection of its own that does not wait for locks, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, event, insert, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from dropbox.db import Envelope, Reporter
from dropbox.retention import purge
from tests.backends import Backend
from tests.instance_builder import Instance, make_instance

TODAY = dt.date(2026, 11, 24)


@pytest.fixture
def instance(tmp_path: Path, backend: Backend) -> Iterator[Instance]:
    built = make_instance(tmp_path, backend=backend)
    yield built
    built.database.engine.dispose()


def _impatient_engine(instance: Instance) -> Engine:
    # A live request that does not wait: blocked by the purge means "not acknowledged".
    if instance.backend.is_postgres:
        return create_engine(instance.config.database_url,
                             connect_args={"options": "-c lock_timeout=200"})
    return create_engine(instance.config.database_url, connect_args={"timeout": 0})


def test_a_follow_up_committed_during_the_purge_survives_it(instance: Instance) -> None:
    reporter = instance.add_reporter(last_active=TODAY - dt.timedelta(days=200))
    # A recent reply: nothing of theirs expires by age, only the account by inactivity.
    instance.add_envelope(reporter, TODAY - dt.timedelta(days=10), kind="reply")
    live = _impatient_engine(instance)
    follow_up = secrets.token_hex(16)
    outcome: dict[str, bool] = {}

    def live_request(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        words = statement.upper()
        if outcome or not (words.lstrip().startswith("DELETE FROM ENVELOPES")
                           and "REPORTER_ID IN" in words):
            return
        try:
            with live.begin() as connection:
                connection.execute(update(Reporter).where(Reporter.id == reporter)
                                   .values(last_active_day=TODAY))
                connection.execute(insert(Envelope).values(
                    id=follow_up, reporter_id=reporter, kind="followup", size=10,
                    day=TODAY, emergency=False))
            outcome["committed"] = True
        except OperationalError:
            outcome["committed"] = False

    event.listen(Engine, "before_cursor_execute", live_request)
    try:
        purge(instance.config, TODAY)
    finally:
        event.remove(Engine, "before_cursor_execute", live_request)
        live.dispose()

    assert "committed" in outcome, "the purge deleted no reporter: the race was not played"
    if outcome["committed"]:
        assert reporter in instance.reporter_ids()
        assert follow_up in instance.envelope_ids()
    else:
        assert reporter not in instance.reporter_ids()
        assert follow_up not in instance.envelope_ids()
