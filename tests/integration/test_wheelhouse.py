"""`make wheelhouse` is the air-gapped workstation's install: it must install with no network.

The wheelhouse is built (that step may reach PyPI), then installed into a new
virtual environment inside a network namespace with no interfaces
(`unshare -rn`), and the offline half of `journalist` is run from it. The
install must not carry the server's or the online half's libraries.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_wheelhouse_installs_and_runs_with_no_network(tmp_path: Path) -> None:
    subprocess.run(["make", "-s", "wheelhouse"], cwd=ROOT, check=True, capture_output=True)
    wheelhouse = ROOT / "wheelhouse"
    (drop_wheel,) = wheelhouse.glob("drop-*.whl")
    venv = tmp_path / "workstation-venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = str(venv / "bin" / "pip")
    env = {**os.environ, "JOURNALIST_HOME": str(tmp_path / "home"),
           "JOURNALIST_PASSPHRASE": "correct horse battery staple", "PIP_FIND_LINKS": ""}
    script = " && ".join([
        f"{pip} install -q --no-index --find-links {wheelhouse} --require-hashes "
        f"-r {wheelhouse / 'workstation.lock'}",
        f"{pip} install -q --no-index --no-deps {drop_wheel}",
        f"{venv / 'bin' / 'journalist'} keygen",
        f"{venv / 'bin' / 'journalist'} export-pubkey",
    ])
    # -r: a user namespace, so that a non-root developer can make the empty network too.
    done = subprocess.run(["unshare", "-rn", "sh", "-c", script], env=env,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "drop-pub-" in done.stdout

    python = str(venv / "bin" / "python")
    for absent in ("flask", "requests", "stem", "socks", "sqlalchemy"):
        probe = subprocess.run([python, "-c", f"import {absent}"], capture_output=True)
        assert probe.returncode != 0, f"{absent} must not be on the air-gapped workstation"

    online = subprocess.run([str(venv / "bin" / "journalist"), "status"], env=env,
                            capture_output=True, text=True, check=False)
    assert online.returncode != 0
    assert "offline install" in online.stderr
