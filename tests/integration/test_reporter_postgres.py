"""The reporter app on PostgreSQL (a real server started for the test): migrations run,
and the JS-off journey (submit with attachment, login, reply, follow-up, delete) works."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import inspect

from keys import FollowUp, decode_message
from tests.pg_server import postgres_server
from tests.unit.conftest import (
    ReporterEnv,
    csrf_from,
    csrf_token,
    make_reporter_env,
    post_multipart,
)
from tests.unit.test_reporter_journeys import add_reply, envelopes, reporter_for, submit_js_off


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    with postgres_server() as url:
        yield url


@pytest.fixture
def pg_env(tmp_path: Path, postgres_url: str) -> Iterator[ReporterEnv]:
    env = make_reporter_env(tmp_path, database_url=postgres_url)
    yield env
    env.services.database.engine.dispose()


def test_schema_is_created_on_postgres(pg_env: ReporterEnv) -> None:
    engine = pg_env.services.database.engine
    assert engine.dialect.name == "postgresql"
    tables = set(inspect(engine).get_table_names())
    assert {"reporters", "envelopes", "api_nonces", "alembic_version"} <= tables


def test_js_off_journey_on_postgres(pg_env: ReporterEnv) -> None:
    client = pg_env.client()
    codename = submit_js_off(client, "report on postgres", [(b"pg attachment", "a.txt")])
    reporter = reporter_for(pg_env, codename)
    add_reply(pg_env, reporter, "reply on postgres")
    page = client.post(
        "/login", data={"csrf_token": csrf_token(client, "/login"), "codename": codename}
    ).get_data(as_text=True)
    assert "reply on postgres" in page
    token = csrf_from(page)
    response = post_multipart(
        client, "/followup",
        [("csrf_token", token), ("text", "more on postgres"),
         ("attachments", (b"", "", "application/octet-stream"))],
    )
    assert response.status_code == 200
    [followup] = envelopes(pg_env, "followup")
    message = decode_message(pg_env.open_envelope(followup.id))
    assert isinstance(message, FollowUp) and message.text == "more on postgres"
    [reply] = envelopes(pg_env, "reply")
    assert client.post(f"/reply/{reply.id}/delete", data={"csrf_token": token}).status_code == 303
    assert envelopes(pg_env, "reply") == []
