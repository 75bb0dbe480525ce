"""Publishing a finished temp file under its final name, atomically and durably."""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

# link() is how "create, but never replace" is made atomic; filesystems such
# as FAT (USB sticks) do not support it, and there rename after a check is the
# best that can be done.
_LINK_UNSUPPORTED = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK}


def private_temp_file(directory: Path, prefix: str) -> tuple[int, Path]:
    """A new 0600 temp file in `directory` (same filesystem as the target)."""
    fd, name = tempfile.mkstemp(dir=directory, prefix=prefix, suffix=".part")
    os.fchmod(fd, 0o600)
    return fd, Path(name)


def publish(temp: Path, target: Path, *, overwrite: bool) -> None:
    """Move the fsynced `temp` onto `target`, then fsync the directory.

    Without `overwrite`, raises FileExistsError if `target` exists (checked
    atomically where the filesystem supports hard links). `temp` is gone
    afterwards in every case except an exception from the rename itself,
    which the caller's cleanup handles.
    """
    if overwrite:
        os.replace(temp, target)
    else:
        try:
            os.link(temp, target)
        except OSError as exc:
            if exc.errno not in _LINK_UNSUPPORTED:
                raise
            if target.exists():
                raise FileExistsError(f"{target} already exists") from None
            os.replace(temp, target)
        else:
            temp.unlink()
    directory = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
