"""The long reliability runs (`make soak` only): the fast scenarios of
tests/integration/test_reliability_*.py at full size.

- crash safety: 100 uploads with SIGKILLs of workers and once of the master;
- load: 200 simulated reporters for 60 s;
- fuzzing (profile `drop-big`): 300 000 bodies through the streaming multipart
  parser, 100 000 through POST /submit on the real app, 200 000 strings through
  the reply-key and login-secret parsers; with test_soak_parsers.py (envelope,
  bundle and codename parsers, 400 000) a million inputs in all.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dropbox.reporter.accounts import parse_login_secret
from dropbox.reporter.errors import BadUpload
from keys import KeyFormatError, ReplyPublicKey
from tests.integration.fuzz_forms import BIG, FuzzBody, bodies
from tests.integration.test_reliability_crash import crash_scenario
from tests.integration.test_reliability_fuzz import FuzzApp, check_parser
from tests.integration.test_reliability_load import MiB, load_scenario

pytestmark = [pytest.mark.soak, pytest.mark.timeout(4 * 3600)]
key_like = st.one_of(
    st.text(max_size=120),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz234567-", max_size=80).map(
        lambda t: "drop-reply-" + t),
)


def test_kill_9_during_a_hundred_uploads(tmp_path: Path) -> None:
    run = crash_scenario(tmp_path, uploads=100, seed=secrets.randbits(32))
    assert run.kills >= 25
    assert run.temp_after_restart == []
    assert sum(s.acknowledged for s in run.sent) >= 50


def test_two_hundred_reporters_for_a_minute(tmp_path: Path) -> None:
    run = load_scenario(tmp_path, reporters=200, seconds=60)
    print(f"statuses {dict(run.statuses)}, peak worker RSS {run.peak_rss // MiB} MiB")
    assert len(run.acknowledged) >= 200, run.statuses


@settings(BIG, max_examples=300_000)
@given(body=bodies)
def test_multipart_parser_big(body: FuzzBody) -> None:
    check_parser(body)


@settings(BIG, max_examples=100_000)
@given(body=bodies)
def test_submit_fuzz_big(fuzz_app: FuzzApp, body: FuzzBody) -> None:
    fuzz_app.check(body)


@settings(BIG, max_examples=150_000)
@given(text=key_like)
def test_reply_key_parser_big(text: str) -> None:
    try:
        ReplyPublicKey.parse(text)
    except KeyFormatError:
        return


@settings(BIG, max_examples=50_000)
@given(text=st.text(alphabet="0123456789abcdefABCDEF \n", max_size=70))
def test_login_secret_parser_big(text: str) -> None:
    try:
        assert len(parse_login_secret(text)) == 32
    except BadUpload:
        return
