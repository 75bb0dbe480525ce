"""A private Tor network on 127.0.0.1: 1 authority, 4 relays, 1 client, 1 onion host.

Start order (measured in /work/shared/notes/tor-testnet.md): authority and
relays; wait until the consensus lists every relay with the flags onion
services need; SIGHUP the relays (resets their download back-off); wait until
each relay holds the consensus and every microdescriptor; only then start the
client and the onion host and wait for their bootstrap to reach 100 %.
Every wait polls a real condition with a deadline.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import signal
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from dropbox.onion import TorControl
from dropbox.onion_errors import OnionError, TorStartError
from dropbox.testnet.config import Authority, Node, Role, render_torrc, voting_offset
from dropbox.testnet.keys import cached_keys, install_keys
from dropbox.tor_process import (
    TorProcess,
    free_ports,
    start_tor,
    stop_all,
    wait_for_port,
    wait_until,
)

STATE_FILE = "testnet.json"
_RELAY_FLAGS = {"Running", "Valid", "Guard", "HSDir"}
Progress = Callable[[str], None]


@dataclass
class NetworkInfo:
    """What clients of the network need; written to `<state dir>/testnet.json`."""

    state_dir: str
    socks_port: int
    client_control: str
    host_control: str
    pids: dict[str, int] = field(default_factory=dict)
    started_seconds: float = 0.0

    def save(self) -> None:
        path = Path(self.state_dir) / STATE_FILE
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")

    @classmethod
    def load(cls, state_dir: Path) -> NetworkInfo:
        """Raise TorStartError when no network state is recorded there."""
        try:
            return cls(**json.loads((state_dir / STATE_FILE).read_text()))
        except (OSError, ValueError, TypeError) as exc:
            raise TorStartError(f"no test network recorded in {state_dir}: {exc}") from exc


def consensus_flags(ns_all: str) -> dict[str, set[str]]:
    """nickname → flags, from `GETINFO ns/all` (network-status `r`/`s` lines)."""
    routers: dict[str, set[str]] = {}
    nickname = ""
    for line in ns_all.splitlines():
        if line.startswith("r "):
            nickname = line.split()[1]
            routers[nickname] = set()
        elif line.startswith("s ") and nickname:
            routers[nickname] = set(line.split()[1:])
    return routers


class TestNetwork:
    """Runs the network; use as a context manager or call start() and stop()."""

    __test__ = False  # not a pytest test class despite the name

    def __init__(self, state_dir: Path, key_cache: Path | None = None, relays: int = 4,
                 tor_binary: str = "tor") -> None:
        self.state_dir = state_dir.resolve()
        self.key_cache = (key_cache or self.state_dir / "key-cache").resolve()
        self.relay_count = relays
        self.tor_binary = tor_binary
        self.tors: list[TorProcess] = []
        self._controls: dict[str, TorControl] = {}
        self.info: NetworkInfo | None = None

    def __enter__(self) -> TestNetwork:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self, timeout: float = 120.0, progress: Progress | None = None) -> NetworkInfo:
        """Bring the whole network up. Raises TorStartError (with the log tail) or
        TorNotInstalled; on failure every tor already started is stopped."""
        report = progress or (lambda _message: None)
        began = time.monotonic()
        deadline = began + timeout
        try:
            return self._start(deadline, report, began)
        except BaseException:
            self.stop()
            raise

    def _start(self, deadline: float, report: Progress, began: float) -> NetworkInfo:
        nodes_dir = self.state_dir / "nodes"
        shutil.rmtree(nodes_dir, ignore_errors=True)
        nodes_dir.mkdir(mode=0o700, parents=True)
        self.key_cache.mkdir(mode=0o700, parents=True, exist_ok=True)
        empty = nodes_dir / "empty"
        empty.touch()
        ports = iter(free_ports(3 + 2 * self.relay_count + 3))
        auth = Node("auth0", Role.AUTHORITY, next(ports), next(ports), next(ports))
        relays = [Node(f"relay{i}", Role.RELAY, next(ports), next(ports))
                  for i in range(1, self.relay_count + 1)]
        client = Node("client", Role.CLIENT, next(ports), socks_port=next(ports))
        host = Node("onionhost", Role.ONION_HOST, next(ports))

        report("preparing keys")
        auth_keys = cached_keys(self.key_cache, auth.nickname, True, self.tor_binary)
        authority = Authority(auth.nickname, auth.or_port, auth.dir_port,
                              auth_keys.v3ident, auth_keys.fingerprint)

        def launch(node: Node) -> TorProcess:
            data_dir = nodes_dir / node.nickname
            if node.role in (Role.AUTHORITY, Role.RELAY):
                install_keys(cached_keys(self.key_cache, node.nickname,
                                         node.role is Role.AUTHORITY, self.tor_binary), data_dir)
            data_dir.mkdir(mode=0o700, exist_ok=True)
            torrc = data_dir / "torrc"
            torrc.write_text(render_torrc(node, data_dir, empty, authority, offset))
            tor = start_tor(node.nickname, torrc, data_dir / "stdout.log", self.tor_binary)
            self.tors.append(tor)
            return tor

        for relay in relays:  # before the authority starts: keys must not delay its clock
            cached_keys(self.key_cache, relay.nickname, False, self.tor_binary)
        offset = voting_offset(time.time())
        report("starting the authority and relays")
        for node in [auth, *relays]:
            launch(node)
        self._connect_all([auth, *relays], deadline)

        report("waiting for a consensus listing every relay")
        names = {relay.nickname for relay in relays}
        wait_until(lambda: self._consensus_ready(auth.nickname, names),
                   deadline - time.monotonic(), "a consensus listing every relay",
                   interval=0.2, watch=self.tors)
        for relay in relays:
            self._controls[relay.nickname].hangup()
        report("waiting for relays to fetch the consensus and microdescriptors")
        for relay in relays:
            wait_until(functools.partial(self._relay_ready, relay.nickname, names | {"auth0"}),
                       deadline - time.monotonic(), f"{relay.nickname} to hold the consensus",
                       interval=0.2, watch=self.tors)

        report("starting the client and the onion host")
        for node in (client, host):
            launch(node)
        self._connect_all([client, host], deadline)
        for node in (client, host):
            wait_until(functools.partial(self._bootstrapped, node.nickname),
                       deadline - time.monotonic(), f"{node.nickname} to bootstrap",
                       interval=0.2, watch=self.tors)
        self.info = NetworkInfo(
            state_dir=str(self.state_dir), socks_port=client.socks_port,
            client_control=f"127.0.0.1:{client.control_port}",
            host_control=f"127.0.0.1:{host.control_port}",
            pids={tor.name: tor.pid for tor in self.tors},
            started_seconds=round(time.monotonic() - began, 2),
        )
        self.info.save()
        report(f"network ready in {self.info.started_seconds:.1f} s")
        return self.info

    def _connect_all(self, nodes: list[Node], deadline: float) -> None:
        by_name = {tor.name: tor for tor in self.tors}
        for node in nodes:
            wait_for_port(node.control_port, deadline - time.monotonic(), by_name[node.nickname])
            self._controls[node.nickname] = TorControl.connect(f"127.0.0.1:{node.control_port}")

    def _consensus_ready(self, authority: str, relays: set[str]) -> bool:
        try:
            flags = consensus_flags(self._controls[authority].get_info("ns/all"))
        except OnionError:
            return False  # no consensus yet
        return all(_RELAY_FLAGS <= flags.get(name, set()) for name in relays)

    def _relay_ready(self, relay: str, everyone: set[str]) -> bool:
        control = self._controls[relay]
        try:
            listed = set(consensus_flags(control.get_info("ns/all")))
            microdescriptors = control.get_info("md/all").count("ntor-onion-key")
        except OnionError:
            return False
        return everyone <= listed and microdescriptors >= len(listed)

    def _bootstrapped(self, nickname: str) -> bool:
        return self._controls[nickname].bootstrap()[0] >= 100

    def control(self, nickname: str) -> TorControl:
        """The open control connection to `client`, `onionhost`, `auth0` or `relayN`."""
        return self._controls[nickname]

    def stop(self, grace: float = 3.0) -> None:
        """Close control connections, then SIGTERM (SIGKILL after `grace`) every tor."""
        for control in self._controls.values():
            control.close()
        self._controls.clear()
        stop_all(self.tors, grace)
        self.tors.clear()
        with contextlib.suppress(OSError):
            (self.state_dir / STATE_FILE).unlink()


def signal_recorded_network(state_dir: Path, grace: float = 3.0) -> list[str]:
    """Stop a network started by another process (`dropbox testnet down`).

    Returns the names of the tors that were still running.
    """
    info = NetworkInfo.load(state_dir)
    stopped = []
    for name, pid in info.pids.items():
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue  # already gone
        if info.state_dir.encode() not in cmdline:
            continue  # the pid was reused by something that is not our tor
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
            stopped.append(name)
    return stopped
