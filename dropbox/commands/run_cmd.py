"""`dropbox run` (the drop on the Tor network) and `dropbox demo` (on a private one).

Both: create the instance, make demo keys on a first run, start the reporter
app and the responder API under gunicorn, publish both onions, print what the
operator needs, and stop everything cleanly on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from types import FrameType

import click

from dropbox.app_servers import (
    REPORTER_TARGET,
    RESPONDER_TARGET,
    AppServer,
    AppServerError,
    start_app_server,
)
from dropbox.demo_keys import (
    DemoKeysError,
    create_demo_identity,
    demo_client_auth,
    store_demo_client_auth,
)
from dropbox.keyring import KeyringError
from dropbox.onion import TorControl
from dropbox.onion_auth import read_client_auth_keys
from dropbox.onion_errors import BootstrapTimeout, OnionError, PublicationTimeout
from dropbox.onion_host import (
    DropOnions,
    OnionPublisher,
    ensure_demo_client_key,
    launch_private_tor,
    onion_dir,
)
from dropbox.testnet import TestNetwork

instance_option = click.option(
    "--instance", "instance_dir", envvar="DROPBOX_INSTANCE", default="instance",
    show_default=True, type=click.Path(file_okay=False, path_type=Path),
    help="Instance directory [env DROPBOX_INSTANCE].")
ports_options = [
    click.option("--reporter-port", envvar="DROPBOX_REPORTER_PORT", default=8080,
                 show_default=True, help="Reporter app on 127.0.0.1 [env DROPBOX_REPORTER_PORT]."),
    click.option("--responder-port", envvar="DROPBOX_RESPONDER_PORT", default=8081,
                 show_default=True,
                 help="Responder API on 127.0.0.1 [env DROPBOX_RESPONDER_PORT]."),
]


def _with_ports(command: Callable[..., None]) -> Callable[..., None]:
    for option in reversed(ports_options):
        command = option(command)
    return command


class Stop(Exception):
    """SIGTERM arrived: leave the main loop through the normal clean-up path."""


def _raise_stop(_signum: int, _frame: FrameType | None) -> None:
    raise Stop


@contextmanager
def _apps(instance_dir: Path, reporter_port: int, responder_port: int) -> Iterator[list[AppServer]]:
    instance_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    env = {"DROPBOX_INSTANCE": str(instance_dir.resolve())}
    logs = instance_dir / "logs"
    servers: list[AppServer] = []
    try:
        servers.append(start_app_server("reporter", REPORTER_TARGET, reporter_port, env, logs))
        servers.append(start_app_server("responder", RESPONDER_TARGET, responder_port, env, logs))
        yield servers
    finally:
        for server in reversed(servers):
            server.stop()


def _prepare_keys(instance_dir: Path) -> None:
    """Demo responder identity and workstation client-auth key on a first run."""
    instance_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    identity = create_demo_identity(instance_dir / "keyring.json")
    if identity is not None:
        click.secho(identity.warning(), fg="red", bold=True, err=True)
    pair = ensure_demo_client_key(instance_dir)
    if pair is not None:
        store_demo_client_auth(pair)


def _print_onions(onions: DropOnions, instance_dir: Path) -> None:
    click.secho(f"\nReporter onion (give this to reporters): http://{onions.reporter.address}",
                bold=True)
    click.echo(f"Responder onion (workstations with the client key only): "
               f"http://{onions.responder.address}")
    pair = demo_client_auth()
    authorised = read_client_auth_keys(onion_dir(instance_dir) / "clients")
    if pair is not None and pair.public_base32 in authorised:
        click.echo("Client-auth line for the networked workstation's tor "
                   "(ClientOnionAuthDir/responder.auth_private):")
        click.echo("  " + pair.workstation_line(onions.responder.service_id))
    for onion in (onions.reporter, onions.responder):
        if onion.note:
            click.secho(f"note: {onion.note}", fg="yellow", err=True)


def _wait_for_stop(servers: list[AppServer], control: TorControl) -> None:
    """Block until Ctrl-C/SIGTERM; fail loudly if an app server or tor goes away."""
    stopped = threading.Event()
    while not stopped.wait(1.0):
        for server in servers:
            if not server.alive():
                raise click.ClickException(f"the {server.name} app stopped:\n{server.log_tail()}")
        if not control.alive():
            raise click.ClickException("lost the connection to tor, and the onion services "
                                       "with it: restart `dropbox run`")


def _guarded(body: Callable[[], None]) -> None:
    """Translate our errors into one-line CLI errors and Ctrl-C/SIGTERM into a clean stop."""
    previous = signal.signal(signal.SIGTERM, _raise_stop)
    try:
        body()
    except (KeyboardInterrupt, Stop):
        click.echo("\nstopping...", err=True)
    except (OnionError, AppServerError, DemoKeysError, KeyringError) as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        signal.signal(signal.SIGTERM, previous)


def _publish_in_background(control: TorControl, publisher: OnionPublisher, onions: DropOnions,
                           stopping: threading.Event) -> None:
    def keep_trying() -> None:
        while not stopping.is_set():
            try:
                control.wait_for_bootstrap(timeout=60)
                publisher.await_published(onions)
                click.secho("tor connected: both onions are published and reachable now.",
                            fg="green", err=True)
                return
            except (BootstrapTimeout, PublicationTimeout):
                continue
            except OnionError as exc:  # the connection closes when we shut down
                if not stopping.is_set():
                    click.secho(f"onion publication stopped: {exc}", fg="yellow", err=True)
                return

    threading.Thread(target=keep_trying, name="onion-publisher", daemon=True).start()


@click.command()
@instance_option
@_with_ports
@click.option("--tor-control", envvar="DROPBOX_TOR_CONTROL", default=None,
              help="Attach to a running tor: control socket path or host:port "
                   "[env DROPBOX_TOR_CONTROL]. Default: start a private tor.")
@click.option("--bootstrap-timeout", default=30.0, show_default=True,
              help="Seconds to wait for tor before serving the local preview only.")
@click.option("--no-apps", is_flag=True,
              help="Only publish the onions: the apps run elsewhere (systemd units). "
                   "Makes no demo keys.")
def run(instance_dir: Path, reporter_port: int, responder_port: int, tor_control: str | None,
        bootstrap_timeout: float, no_apps: bool) -> None:
    """Set up the instance, start tor and gunicorn, publish the onions."""

    def body() -> None:
        with ExitStack() as stack:
            servers: list[AppServer] = []
            if not no_apps:
                _prepare_keys(instance_dir)
                servers = stack.enter_context(_apps(instance_dir, reporter_port, responder_port))
                click.echo(f"Local preview (this machine only): http://127.0.0.1:{reporter_port}")
            if tor_control is None:
                tor, tor_control_spec = launch_private_tor(instance_dir)
                stack.callback(tor.stop)
            else:
                tor_control_spec = tor_control
            control = TorControl.connect(tor_control_spec)
            stack.callback(control.close)
            publisher = OnionPublisher(control, instance_dir, reporter_port, responder_port)
            stack.callback(publisher.close)
            stopping = threading.Event()
            stack.callback(stopping.set)
            onions = publisher.add()
            try:
                control.wait_for_bootstrap(bootstrap_timeout, on_progress=lambda pct, what:
                                           click.echo(f"tor: {pct} % {what}", err=True))
                publisher.await_published(onions)
                _print_onions(onions, instance_dir)
            except BootstrapTimeout as exc:
                _print_onions(onions, instance_dir)
                click.secho(f"\ntor could not reach the Tor network ({exc}): these addresses "
                            "are not reachable yet; the drop keeps serving the local preview "
                            "and publishes the onions as soon as tor connects.",
                            fg="yellow", err=True)
                _publish_in_background(control, publisher, onions, stopping)
            click.echo("Press Ctrl-C to stop.", err=True)
            _wait_for_stop(servers, control)

    _guarded(body)


@click.command()
@click.option("--instance", "instance_dir", envvar="DROPBOX_DEMO_INSTANCE", default="instance-demo",
              show_default=True, type=click.Path(file_okay=False, path_type=Path),
              help="Instance directory of the demo [env DROPBOX_DEMO_INSTANCE].")
@_with_ports
def demo(instance_dir: Path, reporter_port: int, responder_port: int) -> None:
    """The drop on a private Tor network on this machine, fully offline."""

    def body() -> None:
        with ExitStack() as stack:
            _prepare_keys(instance_dir)
            servers = stack.enter_context(_apps(instance_dir, reporter_port, responder_port))
            click.echo(f"Local preview (this machine only): http://127.0.0.1:{reporter_port}")
            network = TestNetwork(instance_dir / "testnet")
            stack.callback(network.stop)
            info = network.start(progress=lambda what: click.echo(f"testnet: {what}", err=True))
            control = TorControl.connect(info.host_control)
            stack.callback(control.close)
            publisher = OnionPublisher(control, instance_dir, reporter_port, responder_port)
            stack.callback(publisher.close)
            onions = publisher.publish()
            pair = demo_client_auth()
            if pair is not None:  # the demo browser/CLI client may reach the responder onion
                network.control("client").add_client_auth(onions.responder.service_id,
                                                           pair.control_port_argument())
            _print_onions(onions, instance_dir)
            _print_demo_steps(onions, info.socks_port)
            _wait_for_stop(servers, control)

    _guarded(body)


def _print_demo_steps(onions: DropOnions, socks_port: int) -> None:
    home = Path("workstation-DEMO-KEYS").absolute()
    click.echo(f"""
Next steps (everything stays on this machine; SOCKS port 127.0.0.1:{socks_port}):
  1. Open the drop through the private Tor network:
       chromium --proxy-server=socks5://127.0.0.1:{socks_port} \\
         --host-resolver-rules="MAP * ~NOTFOUND , EXCLUDE 127.0.0.1" http://{onions.reporter.address}
     (Firefox: SOCKS v5 127.0.0.1:{socks_port}, "Proxy DNS when using SOCKS v5".)
  2. As a responder, fetch what arrived through the responder onion:
       export JOURNALIST_HOME={home}
       journalist export-online-key > {home}/online-key
       JOURNALIST_ONLINE_KEY_FILE={home}/online-key journalist fetch \\
         --server http://{onions.responder.address} --socks 127.0.0.1:{socks_port} --to in.drop
       journalist import in.drop && journalist list
Press Ctrl-C to stop.""")
