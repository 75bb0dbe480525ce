"""A JS-off follow-up that cannot be sent gives the reporter their text back.

Logged-in sessions end after 30 idle minutes, and a long message typed in Tor
Browser's "Safest" mode can take longer than that. Then the post is refused
(its token belonged to the ended session), nothing is kept, and instead of an
error page the reporter gets the login page with the message shown and
carried along: once logged in again, it is back in the follow-up form.
"""

from __future__ import annotations

import html

import pytest
from flask.testing import FlaskClient
from markupsafe import escape
from sqlalchemy import func, select

from dropbox.db import Envelope
from dropbox.sessions import COOKIE_NAME
from tests.unit.conftest import (
    Part,
    ReporterEnv,
    codename_from,
    csrf_token,
    post_multipart,
)

MESSAGE = 'They found my old account. Details: "the second one" <not html>'


def _logged_in(reporter_env: ReporterEnv) -> tuple[FlaskClient, str]:
    client = reporter_env.client()
    parts: list[Part] = [("csrf_token", csrf_token(client)), ("website", ""),
                         ("category", "threats"), ("urgency", "normal"),
                         ("text", "first report"), ("lang", "")]
    codename = codename_from(post_multipart(client, "/submit", parts).get_data(as_text=True))
    assert client.post("/login", data={"csrf_token": csrf_token(client, "/login"),
                                       "codename": codename}).status_code == 200
    return client, codename


def _followups(reporter_env: ReporterEnv) -> int:
    with reporter_env.services.database.session() as db:
        return int(db.scalar(select(func.count()).select_from(Envelope)
                             .where(Envelope.kind == "followup")) or 0)


def _followup(token: str, *, with_file: bool) -> list[Part]:
    parts: list[Part] = [("csrf_token", token), ("text", MESSAGE)]
    if with_file:
        parts.append(("attachments", (b"PHOTO" * 100, "a.jpg", "image/jpeg")))
    return parts


@pytest.mark.parametrize("with_file", [False, True])
def test_a_followup_after_the_session_ended_comes_back_to_be_sent_after_login(
        reporter_env: ReporterEnv, with_file: bool) -> None:
    client, codename = _logged_in(reporter_env)
    token = csrf_token(client, "/inbox")
    client.delete_cookie(COOKIE_NAME)  # as when the 30 idle minutes have passed
    refused = post_multipart(client, "/followup", _followup(token, with_file=with_file))
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400  # its token belonged to the ended session
    assert 'id="login-form"' in page and "was not sent" in page
    assert str(escape(MESSAGE)) in page and MESSAGE not in page  # escaped, never raw
    assert ("files you chose were not kept" in page) == with_file
    assert _followups(reporter_env) == 0
    assert list(reporter_env.config.tmp_dir.iterdir()) == []

    carried = page.split('name="unsent_text" value="', 1)[1].split('"', 1)[0]
    typo = client.post("/login", data={"csrf_token": csrf_token(client, "/login"),
                                       "codename": "wrong words",
                                       "unsent_text": html.unescape(carried)})
    assert typo.status_code == 401
    assert f'name="unsent_text" value="{carried}"' in typo.get_data(as_text=True)
    inbox = client.post("/login", data={"csrf_token": csrf_token(client, "/login"),
                                        "codename": codename,
                                        "unsent_text": html.unescape(carried)})
    assert inbox.status_code == 200
    form = inbox.get_data(as_text=True).split('id="followup-text"', 1)[1]
    assert form.split(">", 1)[1].startswith(str(escape(MESSAGE)) + "</textarea>")
    assert _followups(reporter_env) == 0  # nothing is sent until the reporter sends it


def test_a_followup_with_a_bad_token_in_a_live_session_shows_the_inbox_with_the_text(
        reporter_env: ReporterEnv) -> None:
    client, _codename = _logged_in(reporter_env)
    refused = post_multipart(client, "/followup", _followup("not-the-token", with_file=True))
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert 'id="followup-form"' in page and "This form had expired" in page
    assert str(escape(MESSAGE)) + "</textarea>" in page
    assert _followups(reporter_env) == 0


def test_a_logged_out_session_with_a_valid_token_keeps_nothing(reporter_env: ReporterEnv) -> None:
    """A valid token without a login: refused before any file part is accepted."""
    client = reporter_env.client()
    token = csrf_token(client, "/login")
    refused = post_multipart(client, "/followup", _followup(token, with_file=True))
    assert refused.status_code == 403 and "was not sent" in refused.get_data(as_text=True)
    assert _followups(reporter_env) == 0
    assert list(reporter_env.config.tmp_dir.iterdir()) == []
