"""The purge's VACUUM writes no copy of the database to a temp file.

SQLite's VACUUM builds the new database in a temporary database, which spills
to a file in SQLITE_TMPDIR/TMPDIR once it outgrows the page cache (about 2 MiB).
That file (every live row: login hashes, reply keys, days) is unlinked without
being overwritten, so its blocks outlive the rows' later purge, and creating it
stamps the directory's mtime with the purge's instant. The purge unit points
TMPDIR at the instance's `tmp/` (deploy/systemd/dropbox-purge.service); so does
this test, in a real `dropbox purge` process (SQLite reads TMPDIR once per
process). A directory entry created and removed there moves `tmp/`'s mtime
off 00:00 UTC, which is what the test watches.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
import subprocess
import sys
from pathlib import Path

from dropbox.db import today
from dropbox.storage import midnight_utc
from tests.instance_builder import make_instance


def test_purge_vacuum_leaves_no_temp_file_and_no_instant(tmp_path: Path) -> None:
    instance = make_instance(tmp_path)
    instance.database.engine.dispose()
    database = instance.config.instance_dir / "drop.sqlite3"
    day = today().isoformat()
    with sqlite3.connect(database) as db:  # ~6 MiB of live rows: more than the page cache
        db.executemany(
            "INSERT INTO reporters (id, login_hash, reply_key, created_day, last_active_day)"
            " VALUES (?, ?, ?, ?, ?)",
            [(secrets.token_hex(16), secrets.token_hex(32), "r" * 100, day, day)
             for _ in range(30_000)])
    db.close()
    env = {key: value for key, value in os.environ.items() if key != "SQLITE_TMPDIR"}
    env.update({"DROPBOX_INSTANCE": str(instance.config.instance_dir),
                "DROPBOX_RUNTIME_DIR": str(tmp_path / "run"),
                "TMPDIR": str(instance.config.instance_dir / "tmp")})
    result = subprocess.run(
        [sys.executable, "-m", "dropbox.cli", "purge"], env=env, capture_output=True,
        text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    assert "0 reporters" in result.stdout
    tmp_times = os.stat(instance.config.instance_dir / "tmp")
    assert tmp_times.st_mtime_ns == int(midnight_utc(today())) * 1_000_000_000
