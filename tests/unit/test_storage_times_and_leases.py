"""Envelope files carry only their day; no cleanup takes a file a live request still owns.

Review findings 1 and 3: committed files kept their arrival instant in
mtime/atime, the hourly temp cleanup wiped a finished part of a long upload
still streaming, and the orphan wipe could take a file committed a moment
before its row. Each test drives the real app or the real `purge`.
"""

from __future__ import annotations

import base64
import datetime as dt
import fcntl
import hashlib
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy import select
from werkzeug.test import EnvironBuilder

import keys
from dropbox.db import Envelope, Reporter, today
from dropbox.reporter.sinks import UploadBatch
from dropbox.retention import purge
from dropbox.sessions import COOKIE_NAME
from dropbox.storage import EnvelopeStore, midnight_utc
from tests.journalist_support import ApiEnv, make_api_env, new_id, seal
from tests.unit.conftest import (
    ReporterEnv,
    csrf_token,
    make_reporter_env,
    multipart,
    post_multipart,
)


@pytest.fixture
def env(tmp_path: Path) -> Iterator[ReporterEnv]:
    built = make_reporter_env(tmp_path)
    yield built
    built.services.database.engine.dispose()


def _report(token: str, *files: tuple[bytes, str, str]) -> list[Any]:
    return [("csrf_token", token), ("website", ""), ("category", "threats"),
            ("urgency", "urgent"), ("text", "photos of the threats attached"),
            ("lang", "en"), *(("attachments", f) for f in files)]


def is_leased(path: Path) -> bool:
    """Does some open request still hold `path`'s lease (a shared flock)?"""
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def _stored(env: ReporterEnv) -> tuple[int, int]:
    with env.services.database.session() as db:
        return (len(db.scalars(select(Reporter)).all()), len(db.scalars(select(Envelope)).all()))


def test_committed_envelopes_and_their_directories_carry_only_the_day(env: ReporterEnv) -> None:
    client = env.client()
    answer = post_multipart(client, "/submit", _report(
        csrf_token(client), (b"PHOTO" * 1000, "a.jpg", "image/jpeg")))
    assert answer.status_code == 200
    midnight_ns = int(midnight_utc(today())) * 1_000_000_000
    directories = [env.config.envelopes_dir.stat(), env.config.tmp_dir.stat()]  # before listing
    files = list(env.config.envelopes_dir.iterdir())
    assert len(files) == 2
    for info in [*directories, *(path.stat() for path in files)]:
        assert (info.st_mtime_ns, info.st_atime_ns) == (midnight_ns, midnight_ns)
    with env.services.store.open(files[0].name) as handle:  # a download
        assert handle.read(7) == b"DROPENV"
    assert files[0].stat().st_atime_ns == midnight_ns


def _push_reply(api: ApiEnv) -> tuple[str, bytes]:
    """Push one signed reply to a new reporter through the API; (its id, its envelope)."""
    pair = keys.ReplyKeyPair.generate()
    reporter = api.add_reporter(pair.public)
    envelope = seal(b"we got your report", [pair.public])
    signature = keys.sign_reply(api.identity, pair.public, hashlib.sha256(envelope).digest())
    reply_id = new_id()
    query = urlencode(sorted({"reporter_id": reporter, "id": reply_id,
                              "signature": base64.b64encode(signature).decode(),
                              "responder": api.identity.public.fingerprint}.items()))
    answer = api.call("POST", f"/api/v1/replies?{query}", body=envelope,
                      headers={"X-Drop-Body-SHA256": hashlib.sha256(envelope).hexdigest()})
    assert answer.status_code == 201
    return reply_id, envelope


def test_a_reply_pushed_over_the_api_carries_only_its_day(tmp_path: Path) -> None:
    api = make_api_env(tmp_path)
    reply_id, _envelope = _push_reply(api)
    midnight = midnight_utc(today())
    for path in (api.config.envelopes_dir / reply_id, api.config.envelopes_dir):
        assert (path.stat().st_mtime, path.stat().st_atime) == (midnight, midnight)
    assert not is_leased(api.config.envelopes_dir / reply_id)
    api.context.database.engine.dispose()


def test_deleting_an_envelope_leaves_the_directory_at_midnight(tmp_path: Path) -> None:
    store = EnvelopeStore(tmp_path)
    temp, handle = store.new_temp()
    with handle:
        handle.write(b"ciphertext")
    store.commit(temp, "ab" * 16)
    os.utime(store.envelopes_dir)  # as if a precise instant had been left behind
    store.secure_delete("ab" * 16)
    assert store.envelopes_dir.stat().st_mtime == midnight_utc(today())


class PausingBody:
    """wsgi.input that sends `first`, signals `paused`, waits for `go`, then sends the rest."""

    def __init__(self, body: bytes, split: int, paused: threading.Event,
                 go: threading.Event) -> None:
        self.body, self.split, self.pos = body, split, 0
        self.paused, self.go = paused, go

    def read(self, size: int = -1) -> bytes:
        if self.pos == self.split and not self.go.is_set():
            self.paused.set()
            assert self.go.wait(30)
        end = len(self.body) if size < 0 else self.pos + size
        if self.pos < self.split:
            end = min(end, self.split)
        chunk = self.body[self.pos:end]
        self.pos += len(chunk)
        return chunk


def test_purge_during_a_long_upload_keeps_its_finished_attachment(env: ReporterEnv) -> None:
    client = env.client()
    token = csrf_token(client)
    cookie = client.get_cookie(COOKIE_NAME)
    assert cookie is not None
    body, ctype = multipart(_report(token, (b"A" * 300_000, "first.jpg", "image/jpeg"),
                                    (b"B" * 3_000_000, "second.mp4", "video/mp4")))
    paused, go = threading.Event(), threading.Event()
    environ = EnvironBuilder(path="/submit", method="POST", content_type=ctype).get_environ()
    environ.update({
        "wsgi.input": PausingBody(body, body.index(b"second.mp4") + 2_000_000, paused, go),
        "CONTENT_LENGTH": str(len(body)), "CONTENT_TYPE": ctype,
        "HTTP_COOKIE": f"{COOKIE_NAME}={cookie.value}"})
    status: list[str] = []

    def run() -> None:
        def start(answer: str, headers: Any, *rest: Any) -> Any:
            status.append(answer)
            return None
        b"".join(env.app.wsgi_app(environ, start))

    upload = threading.Thread(target=run)
    upload.start()
    try:
        assert paused.wait(30)
        # Two hours pass while the second file trickles in over Tor: nothing
        # writes to the finished first one any more.
        temps = list(env.config.tmp_dir.iterdir())
        assert len(temps) == 2
        two_hours_ago = time.time() - 7200
        for temp in temps:
            os.utime(temp, (two_hours_ago, two_hours_ago))
        assert purge(env.config).temp_files == 0
        assert env.services.store.cleanup_temp(older_than_seconds=3600) == 0  # a worker start
    finally:
        go.set()
        upload.join(60)
    assert status and status[0].startswith("200")
    assert _stored(env) == (1, 3)
    assert len(list(env.config.envelopes_dir.iterdir())) == 3


def test_purge_between_the_files_and_their_rows_keeps_the_report(
        env: ReporterEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    # A test cannot age a ctime: without the grace only the lease protects the files.
    monkeypatch.setattr("dropbox.retention.ORPHAN_GRACE_SECONDS", -60.0)
    purges: list[int] = []
    original = UploadBatch.commit

    def commit_then_purge(batch: UploadBatch) -> None:
        original(batch)  # files renamed into envelopes/, rows not yet written
        assert all(is_leased(batch.store.path(part.envelope_id)) for part in batch.parts)
        purges.append(purge(env.config).orphan_files)

    monkeypatch.setattr(UploadBatch, "commit", commit_then_purge)
    client = env.client()
    answer = post_multipart(client, "/submit", _report(
        csrf_token(client), (b"PHOTO" * 1000, "a.jpg", "image/jpeg")))
    assert answer.status_code == 200
    assert purges == [0]
    assert not any(map(is_leased, env.config.envelopes_dir.iterdir()))  # the request ended
    assert _stored(env) == (1, 2)
    assert len(list(env.config.envelopes_dir.iterdir())) == 2
    monkeypatch.setattr(UploadBatch, "commit", original)
    assert purge(env.config).orphan_files == 0  # request over, rows committed: kept


def test_orphan_whose_row_commits_after_the_snapshot_is_kept(
        env: ReporterEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("dropbox.retention.ORPHAN_GRACE_SECONDS", -60.0)
    store = env.services.store
    batch = UploadBatch(store)
    part, handle = batch.new_part()
    handle.write(b"ciphertext")
    batch.close_file(handle)
    batch.commit()
    batch.release()  # a writer that lets go before its row commits (the reply API does)
    original = EnvelopeStore.wipe_orphan

    def row_lands_first(self: EnvelopeStore, envelope_id: str, still_orphan: Any) -> bool:
        with env.services.database.session() as db, db.begin():
            reporter = Reporter(login_hash="h" * 64, reply_key="k")
            db.add(reporter)
            db.flush()
            db.add(Envelope(id=envelope_id, reporter_id=reporter.id, kind="report",
                            size=10, emergency=False))
        return original(self, envelope_id, still_orphan)

    monkeypatch.setattr(EnvelopeStore, "wipe_orphan", row_lands_first)
    assert purge(env.config).orphan_files == 0
    assert store.exists(part.envelope_id)


def test_purge_sets_every_file_to_its_day_which_resets_ctimes(env: ReporterEnv) -> None:
    client = env.client()
    answer = post_multipart(client, "/submit", _report(csrf_token(client)))
    assert answer.status_code == 200
    (stored,) = env.config.envelopes_dir.iterdir()
    # A file from before day-only times: an instant three days ago.
    instant = time.time() - 3 * 86_400 - 1234.5
    os.utime(stored, (instant, instant))
    purge(env.config)
    info = stored.stat()
    day_start = midnight_utc(dt.datetime.fromtimestamp(instant, dt.UTC).date())
    # Set by utime, which the kernel always follows with ctime = now: the ctime
    # of the arrival is gone (a test cannot observe that more precisely).
    assert (info.st_mtime, info.st_atime) == (day_start, day_start)


def test_purge_between_a_replys_file_and_its_row_keeps_the_reply(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The reply's file is renamed into envelopes/ inside the row's transaction,
    # before the commit: purge's orphan wipe in that window sees a file with no
    # row. (Only that step of purge: the rest writes, which SQLite would make
    # wait for this very transaction.)
    monkeypatch.setattr("dropbox.retention.ORPHAN_GRACE_SECONDS", -60.0)
    from dropbox import retention
    from dropbox.responder_api.reply_files import place_reply_file as original
    api = make_api_env(tmp_path)
    purges: list[int] = []

    def place_then_purge(*args: Any) -> bool:
        placed = original(*args)
        purges.append(retention._wipe_orphan_files(api.context.database, api.context.store))
        return placed

    monkeypatch.setattr("dropbox.responder_api.replies.place_reply_file", place_then_purge)
    reply_id, envelope = _push_reply(api)
    assert purges == [0]
    assert (api.config.envelopes_dir / reply_id).read_bytes() == envelope
    api.context.database.engine.dispose()
