"""The database backend a test runs on: the instance's own SQLite file, or PostgreSQL.

Made by the `backend` fixture (tests/conftest.py), handed to the fixtures that
build apps, instances and gunicorn servers, so they pick the store through
DROPBOX_DATABASE_URL exactly as a deployment does.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tests.pg_server import dump_database


@dataclass(frozen=True)
class Backend:
    """The store a test runs on; `url` is None for the instance's own SQLite file."""

    name: str
    url: str | None

    @property
    def is_postgres(self) -> bool:
        return self.url is not None

    def env(self) -> dict[str, str]:
        """The DROPBOX_* settings that select this store (none for the SQLite default)."""
        return {"DROPBOX_DATABASE_URL": self.url} if self.url else {}

    def at_rest_paths(self, scratch: Path) -> list[Path]:
        """Files a plaintext scan must read to cover the database, beyond the instance dir.

        SQLite lives in the instance dir already; for PostgreSQL this writes a
        `pg_dump` of the test's database (every row) under `scratch`. Raises
        subprocess.CalledProcessError if pg_dump fails.
        """
        if self.url is None:
            return []
        scratch.mkdir(parents=True, exist_ok=True)
        number = len(list(scratch.glob("pg-dump-*.sql")))
        return [dump_database(self.url, scratch / f"pg-dump-{number}.sql")]


SQLITE = Backend("sqlite", None)
