"""Starting and stopping `tor` child processes that cannot outlive the drop.

Every tor we start gets `PR_SET_PDEATHSIG` so the kernel kills it when the
process that started it dies, even after a crash or `kill -9`. Nothing here
talks the control protocol (that is `dropbox.onion`, the one stem user).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import shutil
import signal
import socket
import subprocess  # nosec B404 # fixed argv only, never a shell
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from dropbox.onion_errors import TorNotInstalled, TorStartError

_PR_SET_PDEATHSIG = 1
# glibc's default keeps freed arenas mapped; a low mmap threshold returns them.
# Measured here: 7 tors went from ~390 MiB to ~95 MiB resident.
TOR_ENVIRONMENT = {"MALLOC_MMAP_THRESHOLD_": "131072"}
INSTALL_HINT = "tor is not installed: install it with `sudo apt-get install tor` (Debian/Ubuntu)."


def find_tor(binary: str = "tor") -> str:
    """Return the absolute path of the tor binary.

    Raises TorNotInstalled with an install hint when it is missing.
    """
    found = shutil.which(binary) or shutil.which(binary, path="/usr/sbin:/usr/local/sbin")
    if found is None:
        raise TorNotInstalled(INSTALL_HINT)
    return found


def die_with_parent() -> None:
    """preexec_fn: ask the kernel to SIGKILL this child when its parent thread exits."""
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def free_ports(count: int) -> list[int]:
    """Return `count` distinct free ports (held open together so none repeats)."""
    probes = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [int(probe.getsockname()[1]) for probe in probes]
    finally:
        for probe in probes:
            probe.close()


@dataclass
class TorProcess:
    """One running tor: its process, torrc and log file."""

    name: str
    process: subprocess.Popen[bytes]
    torrc: Path
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, lines: int = 8) -> str:
        """The last lines of this tor's log, for error messages."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, grace: float = 3.0) -> None:
        """SIGTERM, then SIGKILL if tor is still there after `grace` seconds."""
        if self.alive():
            stop_process(self.process, grace)


def stop_process(process: subprocess.Popen[bytes], grace: float) -> None:
    """SIGTERM `process`, then SIGKILL it if it is still there after `grace` seconds."""
    process.terminate()
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


def stop_all(tors: list[TorProcess], grace: float = 3.0) -> None:
    """SIGTERM every tor at once, then SIGKILL those still alive after `grace` seconds."""
    running = [tor for tor in tors if tor.alive()]
    for tor in running:
        tor.process.terminate()
    deadline = time.monotonic() + grace
    for tor in running:
        try:
            tor.process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            tor.process.kill()
            tor.process.wait(timeout=5)


def start_tor(
    name: str,
    torrc: Path,
    log_path: Path,
    tor_binary: str = "tor",
    extra_env: Mapping[str, str] | None = None,
) -> TorProcess:
    """Start `tor -f torrc` in the background, tied to this process's lifetime.

    Must be called from the main thread: PR_SET_PDEATHSIG fires when the
    *thread* that forked exits. Raises TorNotInstalled or TorStartError.
    """
    binary = find_tor(tor_binary)
    env = {**os.environ, **TOR_ENVIRONMENT, **(extra_env or {})}
    empty = torrc.parent / "empty-defaults-torrc"
    empty.touch(exist_ok=True)
    with open(log_path, "ab") as log:
        try:
            process = subprocess.Popen(  # noqa: S603 # nosec B603 # fixed argv, no shell
                [binary, "-f", str(torrc), "--defaults-torrc", str(empty)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                preexec_fn=die_with_parent,
                close_fds=True,
            )
        except OSError as exc:
            raise TorStartError(f"could not start tor ({binary}): {exc}") from exc
    return TorProcess(name=name, process=process, torrc=torrc, log_path=log_path)


def wait_until(
    condition: Callable[[], bool],
    timeout: float,
    what: str,
    interval: float = 0.1,
    watch: list[TorProcess] | None = None,
) -> None:
    """Poll `condition` until it holds; raise TorStartError naming `what` on timeout.

    Fails fast when one of the `watch`ed processes exits meanwhile.
    """
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(OSError):
            if condition():
                return
        for tor in watch or []:
            if not tor.alive():
                raise TorStartError(f"tor '{tor.name}' exited while waiting for {what}:\n"
                                    f"{tor.log_tail()}")
        if time.monotonic() > deadline:
            raise TorStartError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def wait_for_port(port: int, timeout: float, tor: TorProcess) -> None:
    """Wait until something accepts TCP connections on 127.0.0.1:port."""

    def accepting() -> bool:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True

    wait_until(accepting, timeout, f"tor '{tor.name}' to listen on port {port}", watch=[tor])
