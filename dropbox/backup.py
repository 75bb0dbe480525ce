"""Encrypted backups of an instance (`dropbox backup`); restoring is `dropbox.restore`.

A backup is ONE envelope (FORMAT.md §2) sealed to every responder in the
keyring. Inside: a ustar stream, written straight into the Sealer (no
plaintext temp file anywhere), of

    keyring.json, instance-salt, onion/<name>.key, onion/clients/<name>.auth,
    envelopes/<id>        (the ciphertext files, as stored),
    database.jsonl        (last: the rows, see dropbox/backup_rows.py)

with every timestamp, owner and mode in the tar headers zeroed. The rows are
snapshotted first; an envelope deleted while the files stream is left out of
both. A backup holds everything it holds for as long as it exists: retention
does not reach into it (deploy/README.md says how to rotate them).
"""

from __future__ import annotations

import io
import json
import os
import re
import secrets
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, cast

from dropbox.backup_rows import export_lines
from dropbox.config import Config
from dropbox.db import open_database
from dropbox.keyring import Keyring, KeyringError
from dropbox.storage import open_without_atime, wipe_file
from keys import Sealer
from keys.atomic_file import publish

DATABASE_MEMBER = "database.jsonl"
ONION_MEMBER = re.compile(
    r"\Aonion/(?:[A-Za-z0-9_-]{1,64}\.key|clients/[A-Za-z0-9_-]{1,64}\.auth)\Z")


class BackupError(Exception):
    """A backup could not be written or restored; the message says why and what to do."""


@dataclass(frozen=True)
class BackupSummary:
    reporters: int
    envelopes: int
    keyring: list[str]  # "name  FINGERPRINT" lines, for the operator to check


def _tar_info(name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode, info.uid, info.gid = size, 0, 0o600, 0, 0
    return info


def _instance_files(config: Config) -> Iterator[tuple[str, Path]]:
    for name in ("keyring.json", "instance-salt"):
        path = config.instance_dir / name
        if path.is_file():
            yield name, path
    onion = config.instance_dir / "onion"
    candidates = [*onion.glob("*.key"), *(onion / "clients").glob("*.auth")] \
        if onion.is_dir() else []
    for path in sorted(candidates):
        name = path.relative_to(config.instance_dir).as_posix()
        if ONION_MEMBER.match(name) and path.is_file() and not path.is_symlink():
            yield name, path


def _database_snapshot(config: Config) -> tuple[list[bytes], dict[int, str]]:
    """The export lines and, by line index, the envelope id each envelope line holds."""
    database = open_database(config.database_url, config.instance_dir,
                             sqlite_secure_delete=config.sqlite_secure_delete)
    try:
        lines = list(export_lines(database.engine))
    finally:
        database.engine.dispose()
    envelopes: dict[int, str] = {}
    for index, line in enumerate(lines):
        doc = json.loads(line)
        if doc.get("t") == "envelopes":
            envelopes[index] = doc["r"]["id"]
    return lines, envelopes


def write_backup(config: Config, destination: Path) -> BackupSummary:
    """Write an encrypted backup of `config`'s instance to `destination` (must not exist).

    The file appears complete or not at all (temp file beside it, fsync,
    rename). Raises BackupError (empty keyring, existing file), OSError and
    sqlalchemy errors.
    """
    try:
        keyring = Keyring.load(config.keyring_path)
    except KeyringError as error:
        raise BackupError(str(error)) from None
    if not keyring.recipients():
        raise BackupError("the keyring is empty: no responder could ever open this backup")
    if destination.exists():
        raise BackupError(f"{destination} already exists; choose a new file name")
    lines, envelope_lines = _database_snapshot(config)
    temp = destination.parent / f".{destination.name}.{secrets.token_hex(6)}.partial"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            sealer = Sealer(out, keyring.recipients())
            with tarfile.open(fileobj=cast(IO[bytes], sealer), mode="w|",
                              format=tarfile.USTAR_FORMAT) as tar:
                for name, path in _instance_files(config):
                    data = path.read_bytes()
                    tar.addfile(_tar_info(name, len(data)), io.BytesIO(data))
                for index, envelope_id in list(envelope_lines.items()):
                    try:
                        handle = open_without_atime(config.envelopes_dir / envelope_id)
                    except FileNotFoundError:
                        # Deleted after the snapshot: its row goes too.
                        lines[index] = b""
                        del envelope_lines[index]
                        continue
                    with handle:
                        size = os.fstat(handle.fileno()).st_size
                        tar.addfile(_tar_info(f"envelopes/{envelope_id}", size), handle)
                database = b"".join(lines)
                tar.addfile(_tar_info(DATABASE_MEMBER, len(database)), io.BytesIO(database))
            sealer.close()
            out.flush()
            os.fsync(out.fileno())
        # Never replace: a file that appeared at `destination` meanwhile is kept (atomic
        # where links work; on a FAT stick, checked just before the rename).
        try:
            publish(temp, destination, overwrite=False)
        except FileExistsError:
            raise BackupError(f"{destination} appeared while the backup was written; "
                              "it was left alone: choose a new file name") from None
    except BaseException:
        if temp.exists():
            wipe_file(temp)
        raise
    reporters = sum(1 for line in lines if line.startswith(b'{"t": "reporters"'))
    return BackupSummary(reporters, len(envelope_lines), keyring_lines(keyring))


def keyring_lines(keyring: Keyring) -> list[str]:
    return [f"{entry.name}  {entry.fingerprint}" for entry in keyring.entries]
