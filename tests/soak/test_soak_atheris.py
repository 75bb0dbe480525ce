"""Coverage-guided fuzzing with atheris (libFuzzer), `make soak` only.

Each target of tests/soak/atheris_targets.py runs in its own process, from
valid seed inputs, for a fixed number of runs: libFuzzer exits non-zero and
leaves a crash-* file on anything but the parser's typed error. Together
with the hypothesis runs this is several million hostile inputs.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.soak.atheris_targets import seeds

pytestmark = [pytest.mark.soak, pytest.mark.timeout(4 * 3600)]
ROOT = Path(__file__).resolve().parents[2]
RUNS = {"envelope": 1_000_000, "bundle": 1_000_000, "codename": 500_000, "multipart": 300_000}


@pytest.mark.parametrize("target", sorted(RUNS))
def test_atheris(target: str, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for number, seed in enumerate(seeds(target)):
        (corpus / f"seed-{number}").write_bytes(seed)
    log = tmp_path / "libfuzzer.log"
    with open(log, "wb") as out:
        done = subprocess.run(
            [sys.executable, "-m", "tests.soak.atheris_targets", target,
             f"-runs={RUNS[target]}", "-print_final_stats=1", str(corpus)],
            cwd=tmp_path, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
            stdout=out, stderr=subprocess.STDOUT, timeout=3 * 3600, check=False)
    text = log.read_text(errors="replace")
    crashes = sorted(p.name for p in tmp_path.glob("crash-*"))
    assert done.returncode == 0 and not crashes, (crashes, text[-3000:])
    ran = re.search(r"^Done (\d+) runs", text, re.M)
    assert ran and int(ran.group(1)) == RUNS[target], text[-2000:]
    coverage = re.findall(r"cov: (\d+)", text)
    print(f"{target}: {ran.group(1)} runs, coverage {coverage[-1] if coverage else '?'} edges")
