"""`dropbox testnet down` signals only the tors it recorded, never a reused pid."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from dropbox.onion_errors import TorStartError
from dropbox.testnet import NetworkInfo, signal_recorded_network


def sleeper(*marker: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", *marker])


def test_down_stops_recorded_tors_and_spares_strangers(tmp_path: Path) -> None:
    ours = sleeper(str(tmp_path / "nodes" / "relay1" / "torrc"))
    stranger = sleeper("unrelated")
    try:
        NetworkInfo(state_dir=str(tmp_path), socks_port=1, client_control="127.0.0.1:2",
                    host_control="127.0.0.1:3",
                    pids={"relay1": ours.pid, "relay2": stranger.pid}).save()
        assert signal_recorded_network(tmp_path) == ["relay1"]
        assert ours.wait(timeout=10) == -15
        assert stranger.poll() is None
    finally:
        for process in (ours, stranger):
            process.kill()
            process.wait()


def test_status_of_nothing_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(TorStartError, match="no test network recorded"):
        NetworkInfo.load(tmp_path)
