"""Onionbalance in front of two backends (each its own tor and reporter app, one
shared instance and one shared session key), on a private Tor network: a report
through the frontend address; a second form loaded from the same backend; that
backend stopped; the second form posted on a new circuit, which can only reach
the survivor and succeeds there (sealed cookie sessions); a third report made
afresh; then all three fetched by a responder from the shared instance.

This module runs its own network instead of the session `tor_network`:
Onionbalance 0.2.4 (`--is-testnet`) computes time periods for a network voting
every 20 s (chutney's), tor derives them from the real interval, and the
session network votes every 10 s. Here the authority is switched to 20 s
(SETCONF) before any onion is published, so tor and Onionbalance agree, and it
has five relays (see deploy/README.md, "Several backends with Onionbalance").
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import re
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

import keys
from dropbox import balance
from dropbox.app_servers import REPORTER_TARGET, RESPONDER_TARGET, AppServer, start_app_server
from dropbox.onion import TorControl
from dropbox.onion_errors import OnionError
from dropbox.testnet import TestNetwork
from dropbox.testnet.config import Authority, Node, Role, render_torrc
from dropbox.tor_process import TorProcess, free_ports, start_tor, wait_until
from journalist_cli.main import cli
from keys.identity_file import save_identity
from tests.journalist_support import PASSPHRASE
from tests.tor.conftest import make_instance
from tests.tor.test_report_through_tor import post_js_off_form, submit_js_off
from tests.unit.conftest import csrf_from

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


@pytest.fixture(scope="module")
def balanced_drop(tmp_path_factory: pytest.TempPathFactory,
                  request: pytest.FixtureRequest) -> Iterator[BalancedDrop]:
    root = tmp_path_factory.mktemp("onionbalance")
    cache = getattr(request.config, "cache", None)
    key_cache = Path(cache.mkdir("tor-testnet-keys")) if cache is not None else None
    with contextlib.ExitStack() as stack:
        # Five relays, not four: with four HSDirs or fewer, Onionbalance 0.2.4 can spin
        # forever choosing HSDirs for its second replica (hashring.py, seen here).
        network = TestNetwork(root / "testnet", key_cache=key_cache, relays=HSDIR_RELAYS)
        info = network.start(timeout=150)
        stack.callback(network.stop)
        vote_every(network, VOTING_INTERVAL)
        client_log = root / "client-rend.log"
        client_notice = root / "testnet" / "nodes" / "client" / "notice.log"
        client = network.control("client")
        client.send(
            f'SETCONF Log="notice file {client_notice}" Log="[rend]info file {client_log}"')

        env, responder, _client_auth = make_instance(root / "drop")
        # One session key for every backend, as deploy/README.md §3 says: a reporter
        # whose next circuit reaches another backend keeps their session and form.
        session_key = root / "session.key"
        session_key.touch(mode=0o600)
        session_key.write_bytes(secrets.token_bytes(32))
        env = {**env, "DROPBOX_SESSION_KEY_FILE": str(session_key)}
        responder_port = free_ports(1)[0]
        responder_app = start_app_server("responder", RESPONDER_TARGET, responder_port, env,
                                         root / "logs")
        stack.callback(responder_app.stop)
        frontend_key = root / "onionbalance" / "frontend.key"
        frontend = balance.create_frontend_key(frontend_key)
        backends = [start_backend(f"backend{i}", root, network, frontend, env, stack)
                    for i in (1, 2)]
        # Onionbalance fetches instance descriptors once at start, then only
        # after its 45 s start-up pause: start it once they are on the HSDirs.
        for backend in backends:
            wait_until(functools.partial(descriptor_fetchable, client, backend.address), 90,
                       f"{backend.name}'s descriptor on the HSDirs", interval=2.0,
                       watch=network.tors)
        config = root / "onionbalance" / "config.yaml"
        config.write_text(balance.render_config(
            frontend_key, [balance.BackendInstance(b.name, b.address) for b in backends]))
        host_port = int(info.host_control.rsplit(":", 1)[1])
        process = balance.OnionbalanceProcess(config, host_port,
                                              root / "onionbalance" / "onionbalance.log",
                                              testnet=True)
        stack.callback(process.stop)
        # Onionbalance reads our tor-format key as the address we derived for it.
        process.wait_for_log(r"Loaded onion " + re.escape(frontend), 30)
        # It publishes on the next consensus (or after that pause), merging both backends.
        merged = process.wait_for_log(r"intros from 2 instances", 120)
        process.wait_for_log(r"Uploading second descriptor for " + re.escape(frontend), 30,
                             after=merged)
        yield BalancedDrop(frontend, backends, info.socks_port,
                           f"http://127.0.0.1:{responder_port}", responder, process, client_log,
                           client)


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


def fetch_and_read(drop: BalancedDrop, tmp_path: Path) -> str:
    """A responder fetches from the shared instance, imports offline; all texts read."""
    airgapped, networked = tmp_path / "airgapped", tmp_path / "networked"
    airgapped.mkdir(mode=0o700)
    save_identity(drop.responder, airgapped / "identity.key", PASSPHRASE)
    online_key = keys.OnlineSigningKey.delegate(drop.responder, 2).to_secret_string()
    runner = CliRunner()
    bundle = tmp_path / "in.drop"
    fetched = runner.invoke(cli, ["fetch", "--to", str(bundle), "--server", drop.responder_api],
                            env={"JOURNALIST_HOME": str(networked),
                                 "JOURNALIST_ONLINE_KEY": online_key, "COLUMNS": "200"},
                            catch_exceptions=False)
    assert fetched.exit_code == 0, fetched.output
    assert "3 envelopes" in fetched.output, fetched.output
    offline = {"JOURNALIST_HOME": str(airgapped), "JOURNALIST_PASSPHRASE": PASSPHRASE,
               "COLUMNS": "200"}
    imported = runner.invoke(cli, ["import", str(bundle)], env=offline)
    assert imported.exit_code == 0, imported.output
    listing = runner.invoke(cli, ["list"], env=offline)
    shown = []
    for _reporter, item in re.findall(r"● │ (\w{8}) +│ (\w{8})", listing.output):
        read = runner.invoke(cli, ["read", item], env=offline)
        assert read.exit_code == 0, read.output
        shown.append(read.output)
    return "\n".join(shown)


def test_frontend_survives_losing_the_backend_that_served(balanced_drop: BalancedDrop,
                                                          tmp_path: Path) -> None:
    drop = balanced_drop
    url = f"http://{drop.frontend}"
    with reachable_session(drop, url + "/submit", "first", 150) as session:
        first = submit_js_off(session, url, "Balanced first MARKER-ob-7c21")
        # A second report started on the same backend, still being written when it dies.
        started = session.get(url + "/submit", timeout=60)
        assert started.status_code == 200
        cookies = session.cookies.copy()
        serving = [backend for backend in drop.backends if backend.serving_rendezvous()]
    # Normally exactly one; a slow earlier attempt may have reached the other too.
    assert serving, "no backend holds the reporter's rendezvous circuit"
    serving[0].stop()
    survivor = next(backend for backend in drop.backends if backend is not serving[0])

    with reachable_session(drop, url + "/submit", "second", 240) as session:
        # The reporter's browser still holds the cookie and the form of the dead backend.
        session.cookies.clear()
        session.cookies.update(cookies)
        second = post_js_off_form(session, url, csrf_from(started.text),
                                  "Balanced second MARKER-ob-93d4")
        third = submit_js_off(session, url, "Balanced third MARKER-ob-5a60")
    assert len({first, second, third}) == 3
    assert survivor.serving_rendezvous()

    texts = fetch_and_read(drop, tmp_path)
    for marker in ("MARKER-ob-7c21", "MARKER-ob-93d4", "MARKER-ob-5a60"):
        assert marker in texts
