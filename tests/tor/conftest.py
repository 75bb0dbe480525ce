"""Fixtures for tests through a real private Tor network on 127.0.0.1.

- `tor_network` (session): 1 authority, 4 relays, a client with a SocksPort and
  an onion host, started once for every test under tests/tor and stopped at the end.
- `onion_drop` (session): a real instance (keyring with one test responder),
  the reporter app and responder API under gunicorn, both onions published on
  the onion host. Right after publication the client tor (not authorised) tries
  the responder onion; the SOCKS reply is kept for the tests. `authorised_client`
  then gives the client tor the workstation key for the rest of the session.
- `journey_drop` (session): a second such drop, client authorised, for the
  browser journey; `browser_reports` (session): one Chromium (JS on) and one
  firefox-esr (JS off) report submitted to it (tests/tor/browser_reporters.py).

Key generation for the network is cached in pytest's cache dir between runs.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import requests

import keys
from dropbox.app_servers import (
    REPORTER_TARGET,
    RESPONDER_TARGET,
    AppServer,
    start_app_server,
)
from dropbox.onion import TorControl
from dropbox.onion_auth import ClientAuthKeyPair, write_private_file
from dropbox.onion_host import DropOnions, OnionPublisher
from dropbox.testnet import NetworkInfo, TestNetwork
from dropbox.tor_process import free_ports
from tests.tor.socks_probe import socks_connect_reply

if TYPE_CHECKING:
    from tests.tor.browser_reporters import BrowserReports


@dataclass
class TorNetwork:
    """The running test network: `socks_port` for requests/browsers, control connections."""

    network: TestNetwork
    info: NetworkInfo

    @property
    def socks_port(self) -> int:
        return self.info.socks_port

    @property
    def proxies(self) -> dict[str, str]:
        """requests' proxies: socks5h so the .onion name is resolved by tor, not locally."""
        proxy = f"socks5h://127.0.0.1:{self.socks_port}"
        return {"http": proxy, "https": proxy}

    @property
    def chromium_args(self) -> list[str]:
        """Chromium through the client tor; the resolver rule stops any local DNS lookup."""
        return [f"--proxy-server=socks5://127.0.0.1:{self.socks_port}",
                "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"]

    @property
    def firefox_prefs(self) -> dict[str, bool | int | str]:
        """firefox-esr prefs: SOCKS v5 through the client tor, names resolved by tor."""
        return {"network.proxy.type": 1, "network.proxy.socks": "127.0.0.1",
                "network.proxy.socks_port": self.socks_port, "network.proxy.socks_version": 5,
                "network.proxy.socks_remote_dns": True}

    @property
    def client(self) -> TorControl:
        return self.network.control("client")

    @property
    def host_control(self) -> str:
        return self.info.host_control


@dataclass
class OnionDrop:
    """The drop published as onions: addresses, the workstation key, the instance."""

    reporter_address: str
    responder_address: str
    client_auth: ClientAuthKeyPair
    instance_dir: Path
    responder: keys.ResponderIdentity
    onions: DropOnions
    unauthorised_socks_reply: int
    servers: list[AppServer] = field(default_factory=list)
    client_authorised: bool = False

    @property
    def client_auth_line(self) -> str:
        """What a workstation puts in its ClientOnionAuthDir (`<id>:descriptor:x25519:<priv>`)."""
        return self.client_auth.workstation_line(self.onions.responder.service_id)

    @property
    def reporter_url(self) -> str:
        return f"http://{self.reporter_address}"

    @property
    def responder_url(self) -> str:
        return f"http://{self.responder_address}"


def instance_env(root: Path) -> dict[str, str]:
    """DROPBOX_* variables for an instance under `root` (runtime and temp dirs inside it)."""
    for name in ("instance", "runtime", "tmp", "logs"):
        (root / name).mkdir(mode=0o700, parents=True, exist_ok=True)
    return {"DROPBOX_INSTANCE": str(root / "instance"),
            "DROPBOX_RUNTIME_DIR": str(root / "runtime"),
            "DROPBOX_WORKER_TMP_DIR": str(root / "tmp"),
            "TMPDIR": str(root / "tmp"),
            "DROPBOX_WORKERS": "1", "DROPBOX_THREADS": "4"}


def make_instance(root: Path) -> tuple[dict[str, str], keys.ResponderIdentity, ClientAuthKeyPair]:
    """An instance with one test responder in its keyring and one authorised workstation."""
    env = instance_env(root)
    instance = Path(env["DROPBOX_INSTANCE"])
    responder = keys.ResponderIdentity.generate()
    (instance / "keyring.json").write_text(
        json.dumps([{"name": "Tor test desk", "key": str(responder.public)}]), encoding="utf-8")
    client_auth = ClientAuthKeyPair.generate()
    write_private_file(instance / "onion" / "clients" / "test-workstation.auth",
                       client_auth.server_line() + "\n")
    return env, responder, client_auth


def start_apps(root: Path, env: dict[str, str]) -> list[AppServer]:
    reporter_port, responder_port = free_ports(2)
    servers = [start_app_server("reporter", REPORTER_TARGET, reporter_port, env, root / "logs")]
    try:
        servers.append(start_app_server("responder", RESPONDER_TARGET, responder_port, env,
                                        root / "logs"))
    except BaseException:
        servers[0].stop()
        raise
    return servers


@pytest.fixture(scope="session")
def tor_network(tmp_path_factory: pytest.TempPathFactory,
                request: pytest.FixtureRequest) -> Iterator[TorNetwork]:
    cache = getattr(request.config, "cache", None)  # absent under -p no:cacheprovider
    key_cache = Path(cache.mkdir("tor-testnet-keys")) if cache is not None else None
    network = TestNetwork(tmp_path_factory.mktemp("testnet"), key_cache=key_cache)
    info = network.start(timeout=150)
    try:
        yield TorNetwork(network=network, info=info)
    finally:
        network.stop()


@contextmanager
def published_drop(tor_network: TorNetwork, root: Path) -> Iterator[OnionDrop]:
    """A fresh instance under `root`, its two apps under gunicorn, both onions published."""
    env, responder, client_auth = make_instance(root)
    servers = start_apps(root, env)
    control = TorControl.connect(tor_network.host_control)
    publisher = OnionPublisher(control, Path(env["DROPBOX_INSTANCE"]),
                               servers[0].port, servers[1].port)
    try:
        onions = publisher.publish(timeout=90)
        # Probed here, before any test can authorise the client tor, so the
        # refusal is observed whatever order the tests run in.
        refusal = socks_connect_reply(tor_network.socks_port, onions.responder.address)
        yield OnionDrop(reporter_address=onions.reporter.address,
                        responder_address=onions.responder.address, client_auth=client_auth,
                        instance_dir=Path(env["DROPBOX_INSTANCE"]), responder=responder,
                        onions=onions, unauthorised_socks_reply=refusal, servers=servers)
    finally:
        publisher.close()
        control.close()
        for server in servers:
            server.stop()


def authorise_client(tor_network: TorNetwork, drop: OnionDrop) -> OnionDrop:
    """The client tor holds the workstation key for `drop`'s responder onion from now on."""
    if not drop.client_authorised:
        tor_network.client.add_client_auth(drop.onions.responder.service_id,
                                           drop.client_auth.control_port_argument())
        drop.client_authorised = True
    return drop


@pytest.fixture(scope="session")
def onion_drop(tor_network: TorNetwork,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[OnionDrop]:
    with published_drop(tor_network, tmp_path_factory.mktemp("onion-drop")) as drop:
        yield drop


@pytest.fixture(scope="session")
def authorised_client(tor_network: TorNetwork, onion_drop: OnionDrop) -> OnionDrop:
    """The client tor holds the workstation key for the responder onion from now on."""
    return authorise_client(tor_network, onion_drop)


@pytest.fixture(scope="session")
def journey_drop(tor_network: TorNetwork,
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[OnionDrop]:
    """A drop of its own for the browser journey, so other tests' reports never mix in."""
    with published_drop(tor_network, tmp_path_factory.mktemp("journey-drop")) as drop:
        yield authorise_client(tor_network, drop)


@pytest.fixture(scope="session")
def browser_reports(tor_network: TorNetwork, journey_drop: OnionDrop,
                    tmp_path_factory: pytest.TempPathFactory) -> BrowserReports:
    """A Chromium (JS on, one file) and a firefox-esr (JS off) report to `journey_drop`."""
    from tests.tor.browser_reporters import submit_from_both_browsers  # imports this module

    return submit_from_both_browsers(tor_network, journey_drop.reporter_url,
                                     tmp_path_factory.mktemp("browser-reporters"))


@pytest.fixture
def tor_session(tor_network: TorNetwork) -> Iterator[requests.Session]:
    """A requests session whose every request goes through the client's SocksPort."""
    with requests.Session() as session:
        session.proxies.update(tor_network.proxies)
        session.trust_env = False
        yield session
