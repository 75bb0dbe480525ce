"""Envelope memory stays flat: peak RSS does not grow with the plaintext size.

Each size runs in its own child process (peak RSS is per process): the child
writes its input to a temp dir in 1 MiB blocks, seals it file to file, opens
it again file to file, checks the SHA-256, and prints its ru_maxrss.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

MIB = 1024 * 1024
# Fixed allowance over the 0-byte run: room for a few 64 KiB chunks, the 1 MiB
# in-memory spool and allocator noise, far below the smallest large input.
ALLOWANCE_KIB = 40 * 1024

CHILD = r"""
import hashlib, io, resource, sys
from pathlib import Path
import keys

size, work = int(sys.argv[1]), Path(sys.argv[2])
identity = keys.ResponderIdentity.generate()
block = hashlib.shake_256(b"memory test").digest(1024 * 1024)
digest = hashlib.sha256()
with open(work / "plain", "wb") as plain:
    left = size
    while left:
        piece = block[:min(left, len(block))]
        plain.write(piece)
        digest.update(piece)
        left -= len(piece)
with open(work / "plain", "rb") as src, open(work / "sealed", "wb") as dst:
    keys.encrypt(src, dst, [identity.public])
(work / "plain").unlink()
with open(work / "sealed", "rb") as src, open(work / "opened", "wb") as dst:
    keys.decrypt(src, dst, identity, spool_dir=work)
check = hashlib.sha256()
with open(work / "opened", "rb") as opened:
    while piece := opened.read(1024 * 1024):
        check.update(piece)
assert check.digest() == digest.digest(), "round trip changed the data"
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def peak_rss_kib(size: int, work: Path) -> int:
    work.mkdir()
    result = subprocess.run([sys.executable, "-c", CHILD, str(size), str(work)],
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    return int(result.stdout.strip())


@pytest.fixture(scope="module")
def baseline_kib(tmp_path_factory: pytest.TempPathFactory) -> int:
    return peak_rss_kib(0, tmp_path_factory.mktemp("baseline") / "work")


@pytest.mark.parametrize("size", [0, MIB, 50 * MIB, 200 * MIB], ids=["0B", "1MiB", "50MiB",
                                                                     "200MiB"])
def test_peak_memory_is_independent_of_size(size: int, baseline_kib: int,
                                            tmp_path: Path) -> None:
    peak = peak_rss_kib(size, tmp_path / "work")
    assert peak <= baseline_kib + ALLOWANCE_KIB, (
        f"{size} bytes peaked at {peak} KiB, baseline {baseline_kib} KiB")
