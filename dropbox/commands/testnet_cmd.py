"""`dropbox testnet up|down|status`: a private Tor network on 127.0.0.1.

`up` runs in the foreground (its tors die with it: Ctrl-C, SIGTERM or a crash
all stop them); `down` stops one started from another terminal.
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from types import FrameType

import click

from dropbox.onion import TorControl
from dropbox.onion_errors import OnionError
from dropbox.testnet import NetworkInfo, TestNetwork, signal_recorded_network

state_option = click.option(
    "--state-dir", envvar="DROPBOX_TESTNET_DIR", default="instance/testnet", show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the network keeps its tors, keys and testnet.json [env DROPBOX_TESTNET_DIR].")


@click.group()
def testnet() -> None:
    """A private Tor network on 127.0.0.1 for tests and the demo."""


def _interrupt(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@testnet.command()
@state_option
def up(state_dir: Path) -> None:
    """Start the network and keep it running until Ctrl-C (or `testnet down`)."""
    network = TestNetwork(state_dir)
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        info = network.start(progress=lambda what: click.echo(f"testnet: {what}", err=True))
        click.echo(f"SOCKS port: 127.0.0.1:{info.socks_port}")
        click.echo(f"client control port: {info.client_control}")
        click.echo(f"onion host control port: {info.host_control}")
        click.echo(f"state: {state_dir / 'testnet.json'}   (Ctrl-C to stop)")
        pause = threading.Event()
        while all(tor.alive() for tor in network.tors):  # `testnet down` ends them
            pause.wait(0.5)
        click.echo("a tor of the network exited: stopping the others", err=True)
    except KeyboardInterrupt:
        click.echo("stopping the test network", err=True)
    except OnionError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        network.stop()
        signal.signal(signal.SIGTERM, previous)


@testnet.command()
@state_option
def down(state_dir: Path) -> None:
    """Stop a network started by `testnet up` in another terminal."""
    try:
        stopped = signal_recorded_network(state_dir)
    except OnionError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"sent SIGTERM to {len(stopped)} tor(s): {', '.join(stopped) or 'none running'}")


@testnet.command()
@state_option
def status(state_dir: Path) -> None:
    """Show the recorded ports and whether each tor answers."""
    try:
        info = NetworkInfo.load(state_dir)
    except OnionError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"SOCKS port: 127.0.0.1:{info.socks_port}  (started in {info.started_seconds} s)")
    for name, pid in info.pids.items():
        alive = Path(f"/proc/{pid}").exists()
        click.echo(f"  {name:10} pid {pid:>7}  {'running' if alive else 'gone'}")
    for label, spec in (("client", info.client_control), ("onion host", info.host_control)):
        try:
            control = TorControl.connect(spec)
            percent, summary = control.bootstrap()
            control.close()
            click.echo(f"  {label}: bootstrap {percent} % ({summary})")
        except OnionError as exc:
            click.echo(f"  {label}: unreachable ({exc})")
