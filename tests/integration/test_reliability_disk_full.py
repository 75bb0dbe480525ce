"""Disk full: an upload that does not fit is refused cleanly and the drop keeps serving.

The instance dir sits on an 8 MiB tmpfs mounted in a private mount namespace
(`unshare -m`, so the host never sees it). Where this process may not mount
(not root), RLIMIT_FSIZE on the server stands in: a write past the limit
fails with EFBIG, which reaches the app as the same OSError as ENOSPC.
A 20 MB JS-off upload must get the "could not be saved" page, leave no temp
file, no envelope file and no row behind, and the next report must be saved.
On PostgreSQL (the scenario runs on both stores) only the envelope files are on
the small disk; the refused upload must still leave no row in the database.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
import requests

from keys import ResponderIdentity
from tests.backends import Backend
from tests.gunicorn_server import GunicornReporter, can_mount_private_tmpfs
from tests.integration.reliability_checks import (
    Row,
    assert_logs_clean,
    assert_no_plaintext_at_rest,
    integrity_check,
    postgres_integrity_problems,
    postgres_rows,
    rows,
    snapshot_database,
)
from tests.reporter_client import pattern_block, submit_js_off, submit_js_on

SMALL_DISK = 8 * 1024 * 1024
TOO_BIG = 20 * 1000 * 1000
NOT_SAVED = "could not be saved, and nothing of it was kept"


@pytest.fixture
def small_disk_server(tmp_path: Path, backend: Backend) -> GunicornReporter:
    identity = ResponderIdentity.generate()
    if can_mount_private_tmpfs():
        return GunicornReporter(root=tmp_path, responder=identity, small_disk_bytes=SMALL_DISK,
                                backend=backend)
    return GunicornReporter(root=tmp_path, responder=identity, file_size_limit=SMALL_DISK,
                            backend=backend)


def stored_files(instance: Path) -> tuple[list[str], list[str]]:
    return (sorted(p.name for p in (instance / "envelopes").iterdir()),
            sorted(p.name for p in (instance / "tmp").iterdir()))


def test_upload_that_does_not_fit_is_refused_and_nothing_remains(
    small_disk_server: GunicornReporter, tmp_path: Path
) -> None:
    server = small_disk_server.start()

    def db() -> Path:
        return snapshot_database(server.instance_view(), tmp_path / "snapshots")

    def stored_rows() -> list[Row]:
        return postgres_rows(server.database_url) if server.database_url else rows(db())

    marker = "DISKFULL-" + secrets.token_hex(6)
    codenames: list[str] = []
    try:
        instance = server.instance_view()
        with requests.Session() as session:
            first, _ = submit_js_off(session, server.url, f"{marker} before")
        assert first.acknowledged
        codenames.append(first.codename)
        before_rows, before_files = stored_rows(), stored_files(instance)

        with requests.Session() as session:
            refused, _ = submit_js_off(
                session, server.url, f"{marker} too big",
                [(pattern_block(f"{marker} big"), TOO_BIG)],
            )
        assert refused.status == 500 and not refused.acknowledged
        assert NOT_SAVED in refused.text
        assert stored_rows() == before_rows
        assert stored_files(instance) == before_files

        with requests.Session() as session:
            sealed = submit_js_on(session, server.url, [server.responder.public],
                                  f"{marker} sealed too big", b"\0" * (SMALL_DISK + 1))
        assert sealed.status == 500 and NOT_SAVED in sealed.text
        assert stored_files(instance) == before_files

        with requests.Session() as session:
            after, _ = submit_js_off(session, server.url, f"{marker} after",
                                     [(pattern_block(f"{marker} small"), 200_000)])
        assert after.acknowledged
        codenames.append(after.codename)
        assert len(stored_rows()) == len(before_rows) + 2
        assert stored_files(instance)[1] == []
        if server.database_url:
            assert postgres_integrity_problems(server.database_url) == []
        else:
            assert integrity_check(db()) == "ok"
        dumps = server.backend.at_rest_paths(tmp_path / "db-dumps")
        scan_paths = [instance, server.runtime_dir, server.tmp_dir, *dumps]
        assert_no_plaintext_at_rest(scan_paths, marker, *codenames)
    finally:
        server.stop()
    assert_logs_clean(server.log_bytes(), codenames)
