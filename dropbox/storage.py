"""Ciphertext files on disk: `instance/envelopes/<id>`, written through `instance/tmp/`.

Only ciphertext is ever handed to this module. A file appears under
`envelopes/` complete or not at all: it is written in `tmp/`, fsynced, renamed
into place and the directory fsynced. Deletion overwrites the file with zeros
before unlinking it (on copy-on-write or flash storage this is best effort,
which is why nothing but ciphertext is stored here in the first place).

Times: the drop stores nothing finer than a UTC day, so every committed file,
and `envelopes/` and `tmp/` themselves after each change, get atime and mtime
set to 00:00 UTC of the day; reads use O_NOATIME. A process cannot set ctime:
it keeps the instant of the last change (docs/THREAT_MODEL.md says what that
leaves and how deployments blur it).

Leases: each temp file is flock()ed (shared) from `new_temp` until its request
lets go (`commit`/`discard_temp`, or later for a caller that took the lease
over with `take_lease` to hold it through its database commit). Cleanup wipes only files it can lock
exclusively, so a file that belongs to a live request is never touched, however
long that request lasts; a crashed process's locks vanish with it.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import re
import secrets
import stat
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from dropbox.db import today

_ID_RE = re.compile(r"\A[0-9a-f]{32}\Z")
_WIPE_BLOCK = 1 << 20


class StorageError(Exception):
    """An envelope file could not be written, found or removed."""


class UnknownEnvelope(StorageError):
    """No envelope file has this id (it never existed or was deleted)."""


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def midnight_utc(day: dt.date) -> float:
    """The POSIX timestamp of 00:00 UTC on `day`."""
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp()


def set_day_times(path: Path, day: dt.date | None = None) -> None:
    """Set `path`'s atime and mtime to 00:00 UTC of `day` (default today). Raises OSError."""
    stamp = midnight_utc(day or today())
    os.utime(path, (stamp, stamp), follow_symlinks=False)


def open_without_atime(path: Path) -> BinaryIO:
    """Open `path` for binary reading without updating its atime where the kernel allows.

    O_NOATIME needs the file's owner (the server's own files); otherwise a
    plain open. Raises FileNotFoundError/OSError like open().
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOATIME)
    except PermissionError:
        fd = os.open(path, os.O_RDONLY)
    return os.fdopen(fd, "rb")


class EnvelopeStore:
    """The envelope files of one instance directory."""

    def __init__(self, instance_dir: Path) -> None:
        self.envelopes_dir = Path(instance_dir) / "envelopes"
        self.tmp_dir = Path(instance_dir) / "tmp"
        for directory in (self.envelopes_dir, self.tmp_dir):
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        # temp path -> fd holding its shared flock; dict ops are atomic under the GIL.
        self._leases: dict[Path, int] = {}

    def path(self, envelope_id: str) -> Path:
        """Where envelope `envelope_id` lives; raises UnknownEnvelope for a malformed id."""
        if not _ID_RE.match(envelope_id):
            raise UnknownEnvelope("envelope ids are 32 lowercase hex digits")
        return self.envelopes_dir / envelope_id

    def new_temp(self) -> tuple[Path, BinaryIO]:
        """A fresh private (0600) temp file in `tmp/`, open for binary writing, leased.

        The lease outlives the returned handle: the caller must end it with
        `commit`, `discard_temp` or `release`, or cleanup never removes the file.
        """
        path = self.tmp_dir / secrets.token_hex(16)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        # A second fd on the same open file: the flock stays when the caller
        # closes its handle, and goes only when this fd is closed too.
        lease = -1
        try:
            lease = os.dup(fd)
            fcntl.flock(lease, fcntl.LOCK_SH)
        except OSError:
            for opened in (fd, lease):
                if opened >= 0:
                    os.close(opened)
            wipe_file(path)
            raise
        self._leases[path] = lease
        return path, os.fdopen(fd, "wb")

    def take_lease(self, temp_path: Path) -> int | None:
        """Hand `temp_path`'s lease over to the caller: the fd holding its flock, or None.

        The caller then closes that fd when its request is done with the file
        (for a batch: after the database commit); `commit`, `discard_temp` and
        `release` no longer end that lease.
        """
        return self._leases.pop(temp_path, None)

    def release(self, temp_path: Path) -> None:
        """End the lease taken by `new_temp` (idempotent): cleanup may wipe the file now."""
        lease = self._leases.pop(temp_path, None)
        if lease is not None:
            os.close(lease)

    def commit(self, temp_path: Path, envelope_id: str) -> Path:
        """Make the finished temp file the envelope `envelope_id`, durably, with day-only times.

        The temp file must be closed by the caller. Ends the lease, unless the
        caller took it over (`take_lease`) to keep the file locked until its
        database row is committed. Raises StorageError if an envelope with that
        id exists, OSError if the disk refuses.
        """
        target = self.path(envelope_id)
        if target.exists():
            raise StorageError(f"envelope {envelope_id} already exists")
        fd = os.open(temp_path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(temp_path, target)
        for path in (target, self.envelopes_dir, self.tmp_dir):
            set_day_times(path)
        _fsync_dir(self.envelopes_dir)
        self.release(temp_path)
        return target

    def open(self, envelope_id: str) -> BinaryIO:
        """The envelope's bytes, for reading (atime untouched); raises UnknownEnvelope if absent."""
        try:
            return open_without_atime(self.path(envelope_id))
        except FileNotFoundError:
            raise UnknownEnvelope(f"no envelope {envelope_id}") from None

    def exists(self, envelope_id: str) -> bool:
        try:
            return self.path(envelope_id).is_file()
        except UnknownEnvelope:
            return False

    def secure_delete(self, envelope_id: str) -> None:
        """Overwrite the envelope with zeros, fsync, unlink. Absent files are not an error."""
        wipe_file(self.path(envelope_id))
        set_day_times(self.envelopes_dir)

    def wipe_orphan(self, envelope_id: str, still_orphan: Callable[[], bool]) -> bool:
        """Wipe an envelope file no live request leases if `still_orphan()`; True if wiped.

        `still_orphan` is asked while the file is locked (see `wipe_if_unleased`).
        """
        wiped = wipe_if_unleased(self.path(envelope_id), still_orphan)
        set_day_times(self.envelopes_dir)
        return wiped

    def discard_temp(self, temp_path: Path) -> None:
        """Remove an unfinished temp file and end its lease (no half-files stay)."""
        try:
            wipe_file(temp_path)
            set_day_times(self.tmp_dir)
        finally:
            self.release(temp_path)

    def cleanup_temp(self, older_than_seconds: float = 0.0) -> int:
        """Wipe temp files of no live request, unwritten for `older_than_seconds`; the count.

        A file still leased by a request (even one streaming for hours) is
        skipped; the age only spares a file in the instant between its creation
        and its lease. `dropbox run`, before any worker exists, may pass 0.
        """
        removed = 0
        cutoff = time.time() - older_than_seconds
        for leftover in self.tmp_dir.iterdir():
            try:
                info = leftover.lstat()
            except FileNotFoundError:
                continue  # committed or discarded meanwhile by its own request
            if stat.S_ISREG(info.st_mode) and info.st_mtime <= cutoff \
                    and wipe_if_unleased(leftover):
                removed += 1
        set_day_times(self.tmp_dir)
        return removed


def _zero_and_sync(fd: int) -> None:
    remaining = os.fstat(fd).st_size
    zeros = bytes(_WIPE_BLOCK)
    while remaining > 0:
        step = min(remaining, _WIPE_BLOCK)
        os.write(fd, zeros[:step])
        remaining -= step
    os.fsync(fd)


def _unlink_quietly(path: Path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        return
    _fsync_dir(path.parent)


def wipe_if_unleased(path: Path, still_unwanted: Callable[[], bool] = lambda: True) -> bool:
    """Wipe `path` only if no live request leases it and `still_unwanted()` holds; True if wiped.

    The exclusive lock is taken without waiting and held while
    `still_unwanted` is asked and the file is zeroed and unlinked, so its
    owner cannot commit it meanwhile (leases are only taken at creation, so
    none can appear later). Raises OSError if the disk refuses.
    """
    try:
        fd = os.open(path, os.O_RDWR | os.O_NOFOLLOW)
    except FileNotFoundError:
        return False
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        try:
            same = os.path.samestat(os.fstat(fd), os.lstat(path))
        except FileNotFoundError:
            return False  # renamed by its owner before we locked it
        if not same or not still_unwanted():
            return False
        _zero_and_sync(fd)
        _unlink_quietly(path)
    finally:
        os.close(fd)
    return True


def wipe_file(path: Path) -> None:
    """Overwrite `path` with zeros, fsync and unlink it; a missing file is fine."""
    try:
        fd = os.open(path, os.O_WRONLY)
    except FileNotFoundError:
        return
    try:
        _zero_and_sync(fd)
    finally:
        os.close(fd)
    _unlink_quietly(path)
