"""A login racing the purge of its own account: a refused login, never a 500."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import delete, event, update
from sqlalchemy.orm import Session

from dropbox.db import Envelope, Reporter
from tests.unit.conftest import (
    Part,
    ReporterEnv,
    codename_from,
    csrf_token,
    post_multipart,
)


def test_an_account_purged_between_lookup_and_update_fails_the_login_cleanly(
        reporter_env: ReporterEnv) -> None:
    client = reporter_env.client()
    parts: list[Part] = [("csrf_token", csrf_token(client)), ("website", ""),
                         ("category", "threats"), ("urgency", "normal"),
                         ("text", "a report"), ("lang", "")]
    codename = codename_from(post_multipart(client, "/submit", parts).get_data(as_text=True))
    engine = reporter_env.services.database.engine
    with engine.begin() as db:  # last seen long ago, so the login writes its new day
        db.execute(update(Reporter).values(last_active_day=dt.date(2020, 1, 1)))

    purged: list[bool] = []

    def purge_now(session: Session, *_args: Any) -> None:
        # Another connection deletes the account, as `dropbox purge` would, after the
        # login's lookup found it and before its update is written.
        if purged or not any(isinstance(row, Reporter) for row in session.dirty):
            return
        purged.append(True)
        with engine.begin() as purge:
            purge.execute(delete(Envelope))
            purge.execute(delete(Reporter))

    token = csrf_token(client, "/login")
    event.listen(Session, "before_flush", purge_now)
    try:
        answer = client.post("/login", data={"csrf_token": token, "codename": codename})
    finally:
        event.remove(Session, "before_flush", purge_now)
    assert purged
    assert answer.status_code == 401, answer.get_data(as_text=True)[:300]
    assert client.get("/inbox").status_code == 303  # not logged in
