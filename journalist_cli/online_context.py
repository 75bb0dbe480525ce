"""What the networked commands share: the server options, the signed client, their state.

Nothing here loads an identity: the networked workstation holds only the
online key, which can sign requests and decrypt nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from journalist_cli.errors import JournalistError
from journalist_cli.workstation import Workstation, read_json, write_json

if TYPE_CHECKING:
    from journalist_cli.online_client import ApiClient


def server_options(function: Any) -> Any:
    """Add --server, --socks and --online-key-file to a click command."""
    for option in reversed((
        click.option("--server", envvar="JOURNALIST_SERVER", default="http://127.0.0.1:8081",
                     show_default=True, help="The responder API [env JOURNALIST_SERVER]."),
        click.option("--socks", envvar="JOURNALIST_SOCKS", metavar="HOST:PORT",
                     help="Go through Tor's SOCKS port, e.g. 127.0.0.1:9050 "
                          "(required for .onion addresses)."),
        click.option("--online-key-file", envvar="JOURNALIST_ONLINE_KEY_FILE",
                     type=click.Path(dir_okay=False, exists=True),
                     help="File holding DROP-ONLINE-SECRET-... [else env JOURNALIST_ONLINE_KEY]."),
    )):
        function = option(function)
    return function


def open_client(server: str, socks: str | None, key_file: str | None) -> ApiClient:
    """A client whose connections are closed when the command ends.

    The HTTP stack is imported here, not at module level, so that the
    air-gapped install (no `requests`, no `PySocks`) runs every offline command.
    Raises BadInputError for an unusable server address, JournalistError when
    the online key or the HTTP stack is missing.
    """
    try:
        from journalist_cli.online_client import ApiClient, load_online_key
    except ModuleNotFoundError as missing:
        raise JournalistError(
            f"this is an offline install: the online commands need {missing.name!r}",
            hint="run fetch/push/status on the networked workstation "
                 "(pip install 'drop[online]')") from None
    client = ApiClient(server, load_online_key(key_file), socks)
    click.get_current_context().call_on_close(client.close)
    return client


class OnlineState:
    """The networked workstation's memory: the cursor and whose replies to watch."""

    def __init__(self, workstation: Workstation) -> None:
        self.dir = workstation.private_dir(workstation.online_dir)
        self.path = self.dir / "state.json"
        doc = read_json(self.path, {})
        self.cursor: int = int(doc.get("cursor", 0))
        self.reply_reporters: set[str] = set(doc.get("reply_reporters", []))
        self.staging = workstation.private_dir(self.dir / "staging")

    def save(self) -> None:
        write_json(self.path, {"cursor": self.cursor,
                               "reply_reporters": sorted(self.reply_reporters)})
