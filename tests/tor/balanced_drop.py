"""The pieces of the Onionbalance tor test (test_onionbalance.py): backends, the
balanced drop it builds, and reaching its frontend as a retrying reporter would."""

from __future__ import annotations

import contextlib
import datetime
import re
import time
from dataclasses import dataclass
from pathlib import Path

import requests

import keys
from dropbox import balance
from dropbox.app_servers import REPORTER_TARGET, AppServer, start_app_server
from dropbox.onion import TorControl
from dropbox.onion_errors import OnionError
from dropbox.testnet import TestNetwork
from dropbox.testnet.config import Authority, Node, Role, render_torrc
from dropbox.tor_process import TorProcess, free_ports, start_tor, wait_until

VOTING_INTERVAL = 20  # what Onionbalance's --is-testnet assumes
HSDIR_RELAYS = 5
_DIR_AUTHORITY = re.compile(
    r"^DirAuthority (\S+) orport=(\d+) no-v2 v3ident=(\S+) 127\.0\.0\.1:(\d+) (\S+)$", re.M)


@dataclass
class Backend:
    """One backend: its tor (publishing an Onionbalance instance) and its reporter app."""

    name: str
    tor: TorProcess
    control_port: int
    address: str
    app: AppServer
    rend_log: Path

    def serving_rendezvous(self) -> bool:
        """True while this backend's tor holds a joined rendezvous circuit (a client is in)."""
        control = TorControl.connect(f"127.0.0.1:{self.control_port}")
        try:
            circuits = control.get_info("circuit-status")
        finally:
            control.close()
        return any("PURPOSE=HS_SERVICE_REND" in line and "HS_STATE=HSSR_JOINED" in line
                   for line in circuits.splitlines())

    def stop(self) -> None:
        self.tor.stop()
        self.app.stop()


@dataclass
class BalancedDrop:
    frontend: str
    backends: list[Backend]
    socks_port: int
    responder_api: str
    responder: keys.ResponderIdentity
    onionbalance: balance.OnionbalanceProcess
    client_log: Path
    client_control: TorControl

    def new_identity(self) -> None:
        """SIGNAL NEWNYM on the client tor (tor rate-limits it; a refused one is harmless)."""
        self.client_control.send("SIGNAL NEWNYM")

    def diagnostics(self) -> str:
        """What CI shows when the frontend cannot be reached: the client's onion log
        and Onionbalance's, both ends."""
        def tail(path: Path, lines: int) -> str:
            text = path.read_text(errors="replace").splitlines() if path.exists() else []
            return "\n".join(text[-lines:])
        backends = "".join(
            f"--- {backend.name} tor [rend] log ---\n{tail(backend.rend_log, 20)}\n"
            for backend in self.backends)
        return (f"--- client tor [rend] log ---\n{tail(self.client_log, 60)}\n{backends}"
                f"--- onionbalance log ---\n{tail(self.onionbalance.log_path, 30)}")


def consensus_interval(control: TorControl) -> float:
    """fresh-until minus valid-after of the consensus this tor holds, in seconds."""
    def parse(key: str) -> datetime.datetime:
        return datetime.datetime.strptime(control.get_info(key), "%Y-%m-%d %H:%M:%S")
    return (parse("consensus/fresh-until") - parse("consensus/valid-after")).total_seconds()


def vote_every(network: TestNetwork, seconds: int, timeout: float = 60) -> None:
    """Switch the authority's voting interval; return once the client holds such a consensus."""
    network.control("auth0").send(f"SETCONF V3AuthVotingInterval={seconds}")
    client = network.control("client")
    wait_until(lambda: consensus_interval(client) == seconds, timeout,
               f"a consensus voted every {seconds} s", interval=0.5, watch=network.tors)


def authority_of(network: TestNetwork) -> Authority:
    """The network's directory authority, as written in its own torrc."""
    torrc = next(tor.torrc for tor in network.tors if tor.name == "auth0").read_text()
    found = _DIR_AUTHORITY.search(torrc)
    assert found is not None, torrc
    return Authority(found[1], int(found[2]), int(found[4]), found[3], found[5])


def descriptor_fetchable(client: TorControl, address: str) -> bool:
    """Ask the client tor to fetch `address`'s descriptor; True once it holds one."""
    service_id = address.removesuffix(".onion")
    client.send(f"HSFETCH {service_id}")
    try:
        client.get_info(f"hs/client/desc/id/{service_id}")
    except OnionError:
        return False
    return True


def start_backend(name: str, root: Path, network: TestNetwork, frontend: str,
                  env: dict[str, str], stack: contextlib.ExitStack) -> Backend:
    app_port, control_port = free_ports(2)
    app = start_app_server(name, REPORTER_TARGET, app_port, env, root / "logs")
    stack.callback(app.stop)
    data_dir = root / name
    data_dir.mkdir(mode=0o700)
    service_dir = data_dir / "reporter-service"
    balance.write_ob_config(service_dir, frontend)
    empty = data_dir / "empty"
    empty.touch()
    node = Node(name, Role.ONION_HOST, control_port)
    torrc = data_dir / "torrc"
    torrc.write_text(render_torrc(node, data_dir, empty, authority_of(network)) + "\n"
                     + balance.render_backend_service(service_dir, app_port)
                     + f"Log [rend]info file {data_dir / 'rend.log'}\n")
    tor = start_tor(name, torrc, data_dir / "stdout.log")
    stack.callback(tor.stop)
    wait_until(lambda: balance.read_backend_address(service_dir) is not None, 30,
               f"{name}'s tor to create its onion key", watch=[tor])
    address = balance.read_backend_address(service_dir)
    assert address is not None
    return Backend(name, tor, control_port, address, app, data_dir / "rend.log")


def tor_session(socks_port: int, isolation: str) -> requests.Session:
    """A session on its own tor circuits: tor isolates streams by SOCKS username, so a
    new `isolation` needs a new rendezvous, made from the frontend descriptor."""
    session = requests.Session()
    session.trust_env = False
    proxy = f"socks5h://{isolation}:x@127.0.0.1:{socks_port}"
    session.proxies.update({"http": proxy, "https": proxy})
    return session


def reachable_session(drop: BalancedDrop, url: str, reporter: str,
                      timeout: float) -> requests.Session:
    """A session that has just loaded `url` (200) through tor.

    Each attempt is a new session on new circuits, and a failed attempt is
    followed by NEWNYM, as a reporter retrying with Tor Browser's "New Identity"
    would: the frontend descriptor may still be on its way to the HSDirs, an
    introduction made just as a backend stops is acknowledged by its introduction
    point but never answered, and NEWNYM drops the client's cached descriptor,
    its marks on failed introduction points and its HSDir back-off, so the next
    attempt starts from what the network publishes now.
    """
    deadline = time.monotonic() + timeout
    attempts: list[str] = []
    while True:
        session = tor_session(drop.socks_port, f"{reporter}-{len(attempts) + 1}")
        started = time.monotonic()
        try:
            status = session.get(url, timeout=45).status_code
            if status == 200:
                return session
            outcome = f"HTTP {status}"
        except requests.ConnectionError as exc:
            outcome = type(exc).__name__ + ": " + str(exc)[-160:]
        session.close()
        attempts.append(f"{time.monotonic() - started:5.1f} s  {outcome}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{url} unreachable through tor for {timeout:.0f} s:\n"
                                 + "\n".join(attempts) + "\n" + drop.diagnostics())
        drop.new_identity()
        time.sleep(1.0)
