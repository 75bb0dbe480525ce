"""Several processes that start at once on an empty database all come up, once migrated.

Gunicorn workers on one machine, and backends on several machines behind
Onionbalance, run `open_database` at the same moment. On PostgreSQL each
process here gets an instance dir of its own, as separate machines would, so
only the database's advisory lock can serialise them; on SQLite they share
the instance dir that holds the database file and its lock.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import text

from dropbox.db import alembic_config, make_engine
from tests.backends import Backend

PROCESSES = 6
STARTER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from dropbox.db import open_database
    Path(sys.argv[4]).touch()
    go = Path(sys.argv[3])
    while not go.exists():
        time.sleep(0.002)
    open_database(sys.argv[1], Path(sys.argv[2])).engine.dispose()
""")


def test_simultaneous_starts_migrate_once(backend: Backend, tmp_path: Path) -> None:
    url = backend.url or f"sqlite:///{tmp_path / 'shared' / 'drop.sqlite3'}"
    go = tmp_path / "go"
    processes = []
    for number in range(PROCESSES):
        instance = tmp_path / ("shared" if backend.url is None else f"machine-{number}")
        instance.mkdir(exist_ok=True)
        processes.append(subprocess.Popen(
            [sys.executable, "-c", STARTER, url, str(instance), str(go),
             str(tmp_path / f"ready-{number}")],
            stderr=subprocess.PIPE, text=True))
    deadline = time.monotonic() + 120
    while len(list(tmp_path.glob("ready-*"))) < PROCESSES:
        assert time.monotonic() < deadline, "the processes did not get ready"
        assert all(p.poll() is None for p in processes), "a process died before the start"
        time.sleep(0.01)
    go.touch()
    errors = [p.communicate(timeout=120)[1] for p in processes]
    assert [p.returncode for p in processes] == [0] * PROCESSES, "\n".join(errors)

    engine = make_engine(url)
    try:
        head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
        with engine.connect() as connection:
            versions = connection.execute(text("SELECT version_num FROM alembic_version")).all()
        assert [row[0] for row in versions] == [head]
    finally:
        engine.dispose()
