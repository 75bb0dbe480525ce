"""Publishing the drop's two onion services with keys that survive restarts.

- reporter onion: public; port 80 → the reporter app (127.0.0.1:8080).
- responder onion: v3 client authorisation (keys from `<instance>/onion/clients/*.auth`);
  port 80 → the responder API (127.0.0.1:8081). Never published without a client key.

`launch_private_tor` starts a tor of our own (DataDirectory under the
instance, control socket with cookie auth); `TorControl.connect` attaches to
an operator's tor instead (DROPBOX_TOR_CONTROL).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from dropbox.onion import TorControl
from dropbox.onion_auth import (
    ClientAuthKeyPair,
    load_service_key,
    read_client_auth_keys,
    save_service_key,
    write_private_file,
)
from dropbox.onion_command import OnionRequest, ProofOfWork, PublishedOnion
from dropbox.onion_errors import OnionKeyError
from dropbox.tor_process import TorProcess, start_tor, wait_until

# Streams per rendezvous circuit: a browser opens a handful; thousands mean abuse.
MAX_STREAMS = 64
DEFAULT_POW = ProofOfWork()


@dataclass(frozen=True)
class DropOnions:
    reporter: PublishedOnion
    responder: PublishedOnion


def onion_dir(instance_dir: Path) -> Path:
    return instance_dir / "onion"


def ensure_demo_client_key(instance_dir: Path,
                           name: str = "workstation-demo") -> ClientAuthKeyPair | None:
    """Create a client-auth key pair when no client is authorised yet.

    Stores only the public half (`clients/<name>.auth`) on the server and
    returns the pair so the caller can hand the private line to a workstation.
    Returns None when at least one client is already authorised.
    """
    onion_dir(instance_dir).mkdir(mode=0o700, parents=True, exist_ok=True)
    clients = onion_dir(instance_dir) / "clients"
    if read_client_auth_keys(clients):
        return None
    pair = ClientAuthKeyPair.generate()
    write_private_file(clients / f"{name}.auth", pair.server_line() + "\n")
    return pair


class OnionPublisher:
    """Publishes (and on close removes) the reporter and responder onions."""

    def __init__(self, control: TorControl, instance_dir: Path, reporter_port: int,
                 responder_port: int, proof_of_work: ProofOfWork | None = DEFAULT_POW) -> None:
        self.control = control
        self.directory = onion_dir(instance_dir)
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.reporter_port = reporter_port
        self.responder_port = responder_port
        self.proof_of_work = proof_of_work
        self.published: list[PublishedOnion] = []

    def _add_one(self, name: str, port: int, client_keys: list[str]) -> PublishedOnion:
        key_path = self.directory / f"{name}.key"
        request = OnionRequest(ports={80: f"127.0.0.1:{port}"}, key=load_service_key(key_path),
                               client_auth_v3=client_keys, max_streams=MAX_STREAMS,
                               proof_of_work=self.proof_of_work)
        onion = self.control.add_onion(request)
        self.published.append(onion)
        if request.key is None:
            save_service_key(key_path, onion.key)
        return onion

    def add(self) -> DropOnions:
        """Add both onions (addresses are final) without waiting for publication.

        Raises OnionKeyError when no workstation is authorised for the responder
        onion, or a key file is bad; TorControlError from tor.
        """
        clients = read_client_auth_keys(self.directory / "clients")
        if not clients:
            raise OnionKeyError(f"no client-auth keys in {self.directory / 'clients'}: the "
                                "responder onion is never published without one")
        reporter = self._add_one("reporter", self.reporter_port, [])
        responder = self._add_one("responder", self.responder_port, clients)
        return DropOnions(reporter=reporter, responder=responder)

    def await_published(self, onions: DropOnions, timeout: float = 120.0) -> None:
        """Wait until every descriptor of both onions is uploaded. Raises PublicationTimeout."""
        deadline = time.monotonic() + timeout
        for onion in (onions.reporter, onions.responder):
            self.control.await_publication(onion.service_id,
                                           max(0.0, deadline - time.monotonic()))

    def publish(self, timeout: float = 120.0) -> DropOnions:
        """add() then await_published(): both onions reachable when this returns."""
        onions = self.add()
        self.await_published(onions, timeout)
        return onions

    def close(self) -> None:
        """Remove every onion we published; tor would on disconnect, but say it plainly."""
        for onion in self.published:
            self.control.remove(onion.service_id)
        self.published.clear()


PRIVATE_TORRC = """\
# Written by `dropbox run`: a tor only the drop uses. Edit deploy/torrc for attach mode.
DataDirectory {data_dir}
ControlSocket {control_socket}
ControlSocketsGroupWritable 0
CookieAuthentication 1
SocksPort 0
SafeLogging 1
AvoidDiskWrites 1
Log notice file {data_dir}/notice.log
"""


def launch_private_tor(instance_dir: Path, timeout: float = 30.0) -> tuple[TorProcess, str]:
    """Start a tor owned by this process; return it and its control socket path.

    The tor dies with us (PR_SET_PDEATHSIG). Raises TorNotInstalled, TorStartError.
    """
    tor_dir = (instance_dir / "tor").resolve()
    data_dir = tor_dir / "data"
    control_dir = tor_dir / "control"
    for directory in (tor_dir, data_dir, control_dir):
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        directory.chmod(0o700)
    socket_path = control_dir / "control.sock"
    socket_path.unlink(missing_ok=True)
    torrc = tor_dir / "torrc"
    torrc.write_text(PRIVATE_TORRC.format(data_dir=data_dir, control_socket=socket_path))
    tor = start_tor("tor", torrc, tor_dir / "stdout.log")
    wait_until(socket_path.exists, timeout, "tor's control socket", watch=[tor])
    return tor, str(socket_path)
