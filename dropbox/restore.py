"""Restoring an encrypted backup (`dropbox restore`) into an empty instance.

Restoring needs a responder identity, which the server package never loads
(tests/unit/test_boundaries.py): the envelope is opened by the responders'
own tool in a child process (`python -m journalist_cli.backup_open`), which
releases the archive only after its final chunk authenticated. The archive is
still hostile input (anyone with the public keys can seal one): member names
come from a fixed list, only regular files, sizes bounded, rows checked, rows
and files must match; everything is staged inside the instance dir and moved
into place only when the whole archive and the database import succeeded.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import secrets
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from sqlalchemy import func, inspect, select
from sqlalchemy.exc import SQLAlchemyError

from dropbox.backup import (
    DATABASE_MEMBER,
    ONION_MEMBER,
    BackupError,
    BackupSummary,
    keyring_lines,
)
from dropbox.backup_rows import MAX_LINE_BYTES, RowsError, insert_rows, parse_lines
from dropbox.config import Config
from dropbox.db import Reporter, make_engine, open_database
from dropbox.keyring import Keyring, KeyringError
from dropbox.storage import set_day_times, wipe_file

SALT_BYTES = 16
_LIMITS = {"keyring.json": 1 << 20, "instance-salt": SALT_BYTES, DATABASE_MEMBER: 4 << 30}
_ENVELOPE = re.compile(r"\Aenvelopes/([0-9a-f]{32})\Z")
_ONION_LIMIT = 64 * 1024
_ENVELOPE_LIMIT = 1 << 40
# What Config.for_instance and a first start leave in a directory holding no data yet.
_EMPTY_INSTANCE_NAMES = {"secret-key", ".migrate.lock", "envelopes", "tmp", "drop.sqlite3",
                         "drop.sqlite3-wal", "drop.sqlite3-shm"}
OPENER = [sys.executable, "-m", "journalist_cli.backup_open"]


def _require_empty(config: Config) -> None:
    for entry in config.instance_dir.iterdir():
        if entry.name not in _EMPTY_INSTANCE_NAMES or (entry.is_dir() and any(entry.iterdir())):
            raise BackupError(f"{config.instance_dir} is not empty ({entry.name} exists): "
                              "restore only into a fresh instance directory")
    engine = make_engine(config.database_url)
    if engine.dialect.name == "sqlite" and not Path(engine.url.database or "").is_file():
        engine.dispose()  # connecting would create the file
        return
    try:
        if "reporters" in inspect(engine).get_table_names():
            with engine.connect() as connection:
                if connection.scalar(select(func.count()).select_from(Reporter)):
                    raise BackupError("the database already holds reporters: restore only "
                                      "into an empty database")
    finally:
        engine.dispose()


def _member_limit(name: str) -> int:
    if name in _LIMITS:
        return _LIMITS[name]
    if _ENVELOPE.match(name):
        return _ENVELOPE_LIMIT
    if ONION_MEMBER.match(name):
        return _ONION_LIMIT
    raise BackupError(f"the backup holds an unexpected entry {name[:80]!r}; refusing it")


def _stage_member(tar: tarfile.TarFile, member: tarfile.TarInfo, staging: Path) -> None:
    if member.type not in (tarfile.REGTYPE, tarfile.AREGTYPE):
        raise BackupError(f"the backup entry {member.name[:80]!r} is not a regular file")
    if member.size > _member_limit(member.name):
        raise BackupError(f"the backup entry {member.name!r} is too large")
    source = tar.extractfile(member)
    if source is None:
        raise BackupError(f"the backup entry {member.name!r} cannot be read")
    target = staging / member.name
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
    try:
        fd = os.open(target, flags, 0o600)
    except FileExistsError:
        raise BackupError(f"the backup holds {member.name!r} twice") from None
    with os.fdopen(fd, "wb") as out:
        shutil.copyfileobj(source, out, 1 << 20)
        out.flush()
        os.fsync(out.fileno())


def _open_archive(source: Path, identity: Path, staging: Path, opener: list[str]) -> None:
    """Decrypt `source` in the child and stage every member; BackupError on any failure."""
    child = subprocess.Popen(  # noqa: S603 - our own interpreter and module, no shell
        [*opener, "--identity", str(identity), "--spool", str(staging), str(source)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert child.stdout is not None and child.stderr is not None
    failure: Exception | None = None
    try:
        with tarfile.open(fileobj=child.stdout, mode="r|") as tar:
            for member in tar:
                _stage_member(tar, member, staging)
        while chunk := child.stdout.read(1 << 20):
            if chunk.strip(b"\0"):
                raise BackupError("the backup has data after the end of its archive")
    except (BackupError, tarfile.TarError, OSError) as error:
        failure = error
    finally:
        child.stdout.close()
        message = child.stderr.read().decode("utf-8", "replace").strip()
        message = message.removeprefix("journalist: error: ")
        child.stderr.close()
        code = child.wait()
    if isinstance(failure, BackupError):
        raise failure  # our own verdict; the child then only saw a closed pipe
    if code != 0:
        raise BackupError(message or f"the backup could not be opened (exit {code})")
    if failure is not None:
        raise BackupError(f"the backup archive is malformed: {failure}") from None
    if not (staging / DATABASE_MEMBER).is_file():
        raise BackupError("the backup holds no database export")


def _bounded_lines(handle: IO[bytes]) -> Iterator[bytes]:
    # A hostile export may be one 4 GiB line: never read more than the limit + 1.
    while line := handle.readline(MAX_LINE_BYTES + 1):
        yield line


def _require_instance_files(staging: Path, has_reporters: bool) -> None:
    if not (staging / "keyring.json").is_file():
        raise BackupError("the backup holds no keyring")
    salt = staging / "instance-salt"
    if salt.is_file() and salt.stat().st_size != SALT_BYTES:
        raise BackupError("the backup's instance salt is not 16 bytes")
    if has_reporters and not salt.is_file():
        raise BackupError("the backup has reporters but no instance salt: "
                          "none of them could log in")


def _publish(staging: Path, instance_dir: Path, envelope_days: dict[str, dt.date],
             moved: list[tuple[Path, Path]]) -> None:
    """Move the staged files into the instance, recording each (staged, target) in `moved`."""
    # Restored envelopes get the day-only times of live ones (dropbox.storage).
    for name, day in envelope_days.items():
        set_day_times(staging / "envelopes" / name, day)
    for path in sorted(p for p in staging.rglob("*") if p.is_file()):
        relative = path.relative_to(staging)
        if relative.as_posix() == DATABASE_MEMBER:
            continue
        target = instance_dir / relative
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if target.exists():
            raise BackupError(f"{target} appeared during the restore; stopping")
        os.rename(path, target)
        moved.append((path, target))
    for directory in (instance_dir / "envelopes", instance_dir / "tmp"):
        if directory.is_dir():
            set_day_times(directory)
    for directory in {instance_dir, instance_dir / "envelopes"}:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _unpublish(moved: list[tuple[Path, Path]], instance_dir: Path) -> None:
    # Back into staging, which `_discard` then wipes: the instance is as before.
    for staged, target in reversed(moved):
        os.rename(target, staged)
    if moved and (instance_dir / "envelopes").is_dir():
        set_day_times(instance_dir / "envelopes")


def _discard(staging: Path) -> None:
    if not staging.exists():
        return
    for path in staging.rglob("*"):
        if path.is_file() and not path.is_symlink():
            wipe_file(path)
    shutil.rmtree(staging, ignore_errors=True)


def restore_backup(config: Config, source: Path, identity: Path,
                   opener: list[str] | None = None) -> BackupSummary:
    """Restore `source` into `config`'s empty instance, opening it with the identity file.

    All or nothing: on any failure the instance and database are as before
    (apart from an empty migrated schema if the database import itself failed).
    Raises BackupError with a message for the operator.
    """
    try:
        _require_empty(config)
    except SQLAlchemyError as error:
        reason = getattr(error, "orig", None) or error
        raise BackupError(f"the database cannot be checked: {type(reason).__name__}: "
                          f"{str(reason).strip()}") from None
    staging = config.instance_dir / f".restore-{secrets.token_hex(8)}"
    staging.mkdir(mode=0o700)
    try:
        _open_archive(source, identity, staging, opener or OPENER)
        with open(staging / DATABASE_MEMBER, "rb") as lines:
            imported = parse_lines(_bounded_lines(lines))
        _require_instance_files(staging, has_reporters=bool(imported.rows["reporters"]))
        files = {p.name: p.stat().st_size for p in (staging / "envelopes").glob("*")} \
            if (staging / "envelopes").is_dir() else {}
        if files != imported.envelope_sizes:
            raise BackupError("the backup's envelope files do not match its database "
                              "(missing, extra or wrong-sized files)")
        keyring = Keyring.load(staging / "keyring.json")
        database = open_database(config.database_url, config.instance_dir,
                                 sqlite_secure_delete=config.sqlite_secure_delete)
        moved: list[tuple[Path, Path]] = []
        try:
            # Files go into place before the rows commit, and back out if either
            # fails, so no row is left without its file and no file without its row.
            with database.engine.begin() as connection:
                insert_rows(connection, imported)
                _publish(staging, config.instance_dir,
                         {row["id"]: row["day"] for row in imported.rows["envelopes"]}, moved)
        except BaseException:
            _unpublish(moved, config.instance_dir)
            raise
        finally:
            database.engine.dispose()
    except (RowsError, KeyringError) as error:
        raise BackupError(str(error)) from None
    except SQLAlchemyError as error:
        raise BackupError(f"the database refused the backup's rows: {type(error).__name__}"
                          ) from None
    finally:
        _discard(staging)
    return BackupSummary(len(imported.rows["reporters"]), len(imported.envelope_sizes),
                         keyring_lines(keyring))
