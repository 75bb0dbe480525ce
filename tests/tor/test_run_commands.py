"""`dropbox demo` and `dropbox run` as an operator runs them: real processes, real tor.

Nothing here reaches beyond 127.0.0.1: `demo` builds its own private network, and
`run` is attached to a tor whose only directory authority is a closed local port,
so it can never bootstrap (standing in for a machine without internet).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil  # type: ignore[import-untyped]
import requests

from dropbox.tor_process import free_ports, start_tor, wait_until

DROPBOX = [sys.executable, "-c", "from dropbox.cli import main; main()"]


class CliProcess:
    """A `dropbox` command whose merged output is collected line by line."""

    def __init__(self, args: list[str], cwd: Path, env: dict[str, str]) -> None:
        self.lines: list[str] = []
        self.changed = threading.Condition()
        self.process = subprocess.Popen([*DROPBOX, *args], cwd=cwd, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True,
                                        env={**os.environ, **env})
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self.changed:
                self.lines.append(line.rstrip("\n"))
                self.changed.notify_all()

    def wait_for(self, pattern: str, timeout: float) -> re.Match[str]:
        """The first output line matching `pattern`; fails with the output so far."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                for line in self.lines:
                    if match := regex.search(line):
                        return match
                remaining = deadline - time.monotonic()
                assert remaining > 0 and self.process.poll() is None, "\n".join(self.lines)
                self.changed.wait(min(remaining, 1.0))

    def terminate(self) -> tuple[int, list[psutil.Process], list[str]]:
        """SIGTERM; return the exit code, the descendants running before, their names."""
        children = psutil.Process(self.process.pid).children(recursive=True)
        names = [child.name() for child in children]
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=60)
        self.reader.join(timeout=10)
        assert self.process.stdout is not None
        self.process.stdout.close()
        return code, children, names


def all_gone(processes: list[psutil.Process]) -> bool:
    return not any(process.is_running() and process.status() != psutil.STATUS_ZOMBIE
                   for process in processes)


def test_demo_publishes_the_drop_on_its_own_network_and_stops_cleanly(tmp_path: Path) -> None:
    reporter_port, responder_port = free_ports(2)
    demo = CliProcess(["demo", "--instance", str(tmp_path / "instance-demo"),
                       "--reporter-port", str(reporter_port),
                       "--responder-port", str(responder_port)],
                      cwd=tmp_path, env={"DROPBOX_DEMO_PASSPHRASE": "demo passphrase for tests"})
    try:
        demo.wait_for(r"DEMO KEYS ONLY", timeout=60)
        onion = demo.wait_for(r"Reporter onion .*http://([a-z2-7]{56}\.onion)", timeout=180)
        socks = demo.wait_for(r"SOCKS port 127\.0\.0\.1:(\d+)", timeout=10)
        demo.wait_for(r"^\s+[a-z2-7]{56}:descriptor:x25519:[A-Z2-7]{52}$", timeout=10)
        proxy = f"socks5h://127.0.0.1:{socks.group(1)}"
        with requests.Session() as session:
            session.trust_env = False
            page = session.get(f"http://{onion.group(1)}/", proxies={"http": proxy}, timeout=60)
        assert page.status_code == 200
    finally:
        code, children, names = demo.terminate()
    assert code == 0, "\n".join(demo.lines)
    assert (tmp_path / "workstation-DEMO-KEYS" / "identity.key").exists()
    assert names.count("tor") == 7
    wait_until(lambda: all_gone(children), 10, "the demo's tors and apps to exit")


STUCK_TORRC = """\
DataDirectory {data}
ControlSocket {data}/control.sock
CookieAuthentication 1
SocksPort 0
UseDefaultFallbackDirs 0
DirAuthority nowhere orport={closed} no-v2 v3ident={ident} 127.0.0.1:{closed} {ident}
Log notice file {data}/notice.log
"""


def test_run_without_the_tor_network_says_so_and_keeps_serving(tmp_path: Path) -> None:
    data = tmp_path / "stuck-tor"
    data.mkdir(mode=0o700)
    closed_port, reporter_port, responder_port = free_ports(3)
    torrc = tmp_path / "torrc"
    torrc.write_text(STUCK_TORRC.format(data=data, closed=closed_port, ident="A" * 40))
    tor = start_tor("stuck", torrc, tmp_path / "tor.log")
    try:
        wait_until((data / "control.sock").exists, 30, "the stuck tor's control socket",
                   watch=[tor])
        run = CliProcess(["run", "--instance", str(tmp_path / "instance"),
                          "--tor-control", str(data / "control.sock"),
                          "--bootstrap-timeout", "3",
                          "--reporter-port", str(reporter_port),
                          "--responder-port", str(responder_port)], cwd=tmp_path, env={})
        try:
            run.wait_for(r"Reporter onion .*http://[a-z2-7]{56}\.onion", timeout=60)
            run.wait_for(r"could not reach the Tor network", timeout=30)
            page = requests.get(f"http://127.0.0.1:{reporter_port}/", timeout=30)
            assert page.status_code == 200
        finally:
            code, children, _names = run.terminate()
        assert code == 0, "\n".join(run.lines)
        assert any("stopping" in line for line in run.lines)
        assert len(children) >= 4  # two gunicorn masters, at least one worker each
        wait_until(lambda: all_gone(children), 10, "the apps to exit")
    finally:
        tor.stop()
