"""Where a workstation keeps its files, and the safe ways to open them.

    $JOURNALIST_HOME (default ~/.local/share/journalist), mode 0700
    ├── identity.key         passphrase-protected responder identity (air-gapped)
    ├── public.key           its public half (drop-pub-...), in clear
    ├── team.json            the team's public keys that replies are encrypted to
    ├── inbox/               index.json + envelopes/<id> (ciphertext as it came)
    └── online/              online-key, state.json, staging/ (networked machine)

Nothing here follows a symbolic link: a link where a directory or file of
ours should be is refused, so a planted link cannot redirect a write.
"""

from __future__ import annotations

import ctypes
import json
import os
import stat
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from journalist_cli.errors import BadInputError, JournalistError


@dataclass(frozen=True)
class Workstation:
    home: Path

    @classmethod
    def from_env(cls, home: str | None = None) -> Workstation:
        """The workstation at `home`, else $JOURNALIST_HOME, else ~/.local/share/journalist."""
        raw = home or os.environ.get("JOURNALIST_HOME")
        path = Path(raw) if raw else Path.home() / ".local" / "share" / "journalist"
        return cls(path.absolute())

    @property
    def identity_path(self) -> Path:
        return self.home / "identity.key"

    @property
    def public_key_path(self) -> Path:
        """Your own drop-pub-... key, kept in clear so that no passphrase is needed to know it."""
        return self.home / "public.key"

    @property
    def team_path(self) -> Path:
        return self.home / "team.json"

    @property
    def inbox_dir(self) -> Path:
        return self.home / "inbox"

    @property
    def online_dir(self) -> Path:
        return self.home / "online"

    def private_dir(self, path: Path) -> Path:
        """Create `path` (and the home) as 0700 directories; refuse links and non-directories."""
        for directory in (self.home, path):
            try:
                info = os.lstat(directory)
            except FileNotFoundError:
                directory.mkdir(mode=0o700, parents=True, exist_ok=True)
                info = os.lstat(directory)
            if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
                raise BadInputError(f"{directory} is not a plain directory (a link or a file?)",
                                    hint="move it away; the workstation never follows links")
        return path


def open_no_follow(path: Path) -> int:
    """Open an existing regular file for reading without following a link; return the fd."""
    try:
        # O_NONBLOCK: opening a FIFO planted in its place must not hang the command.
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        raise
    except OSError:
        raise BadInputError(f"{path} is a link or cannot be opened",
                            hint="the workstation never follows links") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise BadInputError(f"{path} is not a regular file")
    os.set_blocking(fd, True)
    return fd


def read_json(path: Path, default: Any) -> Any:
    """Parse the JSON file at `path` (no link followed), or `default` if it does not exist."""
    try:
        fd = open_no_follow(path)
    except FileNotFoundError:
        return default
    with os.fdopen(fd, "rb") as handle:
        try:
            return json.loads(handle.read().decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise JournalistError(f"{path} is damaged (not valid JSON)") from None


def write_atomically(path: Path, data: bytes) -> None:
    """Replace `path` with `data` all at once (temp file, fsync, rename), mode 0600.

    A crash leaves either the old or the new file, never a mix; once this
    returns, the new file (and its name) is on disk. A link at `path` is
    replaced, never followed.
    """
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    _fsync_directory(path.parent)


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _libc_syncfs() -> Callable[[int], int] | None:
    """syncfs(2) from the C library, or None where there is none (not Linux, no glibc)."""
    try:
        function = ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int]
    function.restype = ctypes.c_int
    return cast(Callable[[int], int], function)


def sync_to_disk(files: Iterable[Path], directory: Path) -> None:
    """Return only once `files` (all in `directory`) and their names are on disk.

    Where the C library has syncfs(2) (Linux), one syncfs of the filesystem
    that holds `directory`: an import of 10,000 envelopes would otherwise wait
    for 10,000 journal commits. Unlike sync(2), syncfs reports a write error
    (Linux 5.8 and later), and it does not wait on other disks. Elsewhere each
    file and the directory are fsynced.

    Raises OSError if the disk reports that something could not be written.
    """
    syncfs = _libc_syncfs()
    if syncfs is not None:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            if syncfs(fd) != 0:
                code = ctypes.get_errno()
                raise OSError(code, f"the disk could not save the envelopes: {os.strerror(code)}",
                              str(directory))
        finally:
            os.close(fd)
        return
    for path in files:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    _fsync_directory(directory)


def write_json(path: Path, value: Any, *, compact: bool = False) -> None:
    """Write `value` as JSON with `write_atomically`; `compact` (no indentation) is
    for large machine-only files, where it lets json use its C encoder (10x faster)."""
    if compact:
        text = json.dumps(value, sort_keys=True, separators=(",", ":"))
    else:
        text = json.dumps(value, sort_keys=True, indent=1)
    write_atomically(path, text.encode("utf-8"))


def overwrite_and_unlink(path: Path) -> None:
    """Overwrite a file with zeros before unlinking it (best effort on journaling/flash)."""
    try:
        # O_NONBLOCK: a FIFO in its place must not hang us; only a regular file is zeroed.
        fd = os.open(path, os.O_WRONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        path.unlink(missing_ok=True)
        return
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        path.unlink()
        return
    os.set_blocking(fd, True)
    with os.fdopen(fd, "wb") as handle:
        size = os.fstat(handle.fileno()).st_size
        zeros = bytes(64 * 1024)
        while size > 0:
            size -= handle.write(zeros[: min(size, len(zeros))])
        handle.flush()
        os.fsync(handle.fileno())
    path.unlink()
