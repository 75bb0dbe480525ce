"""A real FAT32 file system mounted in a test's temp dir, like a responder's USB stick.

FAT has no hard links (link() fails with EPERM) and no permissions (fusefat
answers chmod with ENOSYS), which is what code that writes bundles to
removable media must cope with. The volume is mounted with `fusefat` (no
root, no loop device) and always unmounted when the `with` block ends.

    from tests.fat_volume import mounted_fat32

    @pytest.fixture
    def usb(tmp_path: Path) -> Iterator[Path]:
        with mounted_fat32(tmp_path) as mountpoint:
            yield mountpoint

Needs /dev/fuse and the Debian packages `fusefat` and `dosfstools`
(deploy/install-system-deps.sh installs them). When they are missing the
test fails and says so: a skip would hide that FAT was never tested.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

# FAT32 needs at least 65,525 clusters; 40 MiB of 512-byte clusters is enough.
# The image is sparse, so it costs almost no disk.
IMAGE_BYTES = 40 * 1024 * 1024
TOOL_TIMEOUT_SECONDS = 60


def _tool(name: str, package: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    if found is None:
        pytest.fail(f"{name} is missing: install the Debian package {package} "
                    "(deploy/install-system-deps.sh does)", pytrace=False)
    return found


def _run(*command: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False,
                          timeout=TOOL_TIMEOUT_SECONDS)
    if done.returncode != 0:
        pytest.fail(f"{' '.join(command)} failed ({done.returncode}): "
                    f"{done.stderr.strip() or done.stdout.strip()}", pytrace=False)


@contextmanager
def mounted_fat32(workdir: Path) -> Iterator[Path]:
    """Yield the mount point of a fresh, empty FAT32 volume made under `workdir`.

    Guarantees: the path is a mount point of a FAT32 file system while the
    block runs and is unmounted afterwards, whatever the block raised.
    Fails the test (never skips) when FUSE or the tools are unavailable.
    """
    if not os.path.exists("/dev/fuse"):
        pytest.fail("/dev/fuse is missing: the FAT32 tests need FUSE (load the fuse "
                    "module, or give the container --device /dev/fuse)", pytrace=False)
    mkfs = _tool("mkfs.vfat", "dosfstools")
    fusefat = _tool("fusefat", "fusefat")
    fusermount = _tool("fusermount", "fuse3")
    image = workdir / "fat32.img"
    mountpoint = workdir / "usb"
    mountpoint.mkdir()
    with image.open("wb") as handle:
        handle.truncate(IMAGE_BYTES)
    _run(mkfs, "-F", "32", str(image))  # no label: fusefat would list it as a file
    # fusefat returns once the mount is in place (the daemon forks after mounting).
    _run(fusefat, "-o", "rw+", str(image), str(mountpoint))
    try:
        if not os.path.ismount(mountpoint):
            pytest.fail(f"fusefat returned but {mountpoint} is not mounted", pytrace=False)
        yield mountpoint
    finally:
        done = subprocess.run([fusermount, "-u", str(mountpoint)], capture_output=True,
                              check=False, timeout=TOOL_TIMEOUT_SECONDS)
        if done.returncode != 0:  # still busy (a file left open): detach it anyway
            subprocess.run([fusermount, "-u", "-z", str(mountpoint)], capture_output=True,
                           check=False, timeout=TOOL_TIMEOUT_SECONDS)
