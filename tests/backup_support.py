"""Helpers for the `dropbox backup` / `dropbox restore` tests: the CLI, restores, row dumps.

The CLI runs in-process through click's runner with the instance, runtime dir
and database chosen by environment variables, as an operator's shell would.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result
from sqlalchemy import create_engine, select

from dropbox.cli import cli
from dropbox.db import ApiNonce, Envelope, Reporter
from tests.journalist_support import PASSPHRASE


def run_cli(instance_dir: Path, *args: str, database_url: str | None = None) -> Result:
    """`dropbox ARGS` on `instance_dir` (its runtime dir beside it); None: SQLite inside it."""
    env = {"DROPBOX_INSTANCE": str(instance_dir),
           "DROPBOX_RUNTIME_DIR": str(instance_dir.parent / "run"),
           "JOURNALIST_PASSPHRASE": PASSPHRASE}
    if database_url:
        env["DROPBOX_DATABASE_URL"] = database_url
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def restore(tmp_path: Path, backup: Path, identity: Path, name: str = "restored",
            database_url: str | None = None) -> tuple[Path, Result]:
    """Restore `backup` into a new instance dir `tmp_path/name/instance`; return it and the run."""
    target = tmp_path / name / "instance"
    result = run_cli(target, "restore", "--from", str(backup), "--identity", str(identity),
                     database_url=database_url)
    return target, result


def sqlite_url(instance_dir: Path) -> str:
    """The URL of the SQLite database an instance keeps inside its dir."""
    return f"sqlite:///{instance_dir / 'drop.sqlite3'}"


def rows(database_url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table a backup carries, by table name, in primary-key order."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return {model.__tablename__: [tuple(r) for r in connection.execute(
                        select(model.__table__).order_by(*model.__table__.primary_key))]
                    for model in (Reporter, Envelope, ApiNonce)}
    finally:
        engine.dispose()
