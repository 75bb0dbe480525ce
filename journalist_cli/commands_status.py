"""Networked: `status`, and `status --watch`, which must not fall silent.

A watch is how a team hears about emergencies, so one failed poll (a 503,
a Tor circuit that broke, a proxy's odd answer) must not end it. It warns,
waits longer after each failure in a row (up to a bound), and after several
failures in a row rings the bell and says loudly that it cannot see the
server, because then emergencies may be waiting unseen; the notify command,
if any, hears of it once per outage, and again when contact is back.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.panel import Panel
from rich.text import Text

from journalist_cli.alerting import (
    CONTACT_BACK,
    CONTACT_LOST,
    EmergencyAlert,
    NotifyCommandError,
    parse_notify_command,
    run_notify_command,
)
from journalist_cli.errors import AuthError, BadInputError, JournalistError, NetworkError
from journalist_cli.online_context import OnlineState, open_client, server_options
from journalist_cli.safe_text import escape_terminal
from journalist_cli.workstation import Workstation

if TYPE_CHECKING:
    from journalist_cli.online_client import ApiClient

ALERT_AFTER_FAILURES = 3
MAX_RETRY_SECONDS = 600


def retry_delay(watch: int, failures: int) -> int:
    """Seconds to wait before the next poll after `failures` failed polls in a row.

    `watch` while polls succeed and after the first failure, then doubling,
    never more than max(`watch`, MAX_RETRY_SECONDS).
    """
    if failures <= 1:
        return watch
    return min(watch << min(failures - 1, 16), max(watch, MAX_RETRY_SECONDS))


class FailedPolls:
    """Counts failed polls in a row and tells the responder, louder as they go on."""

    def __init__(self, console: Console, notify_command: list[str] | None) -> None:
        self.console = console
        self.notify_command = notify_command
        self.in_a_row = 0

    def failed(self, error: JournalistError, retry_in: int) -> None:
        self.in_a_row += 1
        self.console.print(Text(
            f"journalist: warning: this check failed "
            f"({escape_terminal(str(error), keep_newlines=False)}); "
            f"trying again in {retry_in} s", style="yellow"))
        if error.hint:
            self.console.print(Text(
                f"journalist: hint: {escape_terminal(error.hint, keep_newlines=False)}"))
        if self.in_a_row % ALERT_AFTER_FAILURES == 0:
            # The bell goes to the stream even when it is not a terminal (rich drops it then).
            self.console.file.write("\a")
            self.console.file.flush()
            message = Text(f"!! CANNOT REACH THE SERVER: {self.in_a_row} checks in a row "
                           "failed; emergencies may be waiting unseen !!",
                           style="bold white on red", justify="center")
            self.console.print(Panel(message, style="bold red", title="NO CONTACT",
                                     subtitle="check tor and the network"))
            if self.in_a_row == ALERT_AFTER_FAILURES and self.notify_command is not None:
                run_notify_command(self.console, self.notify_command, CONTACT_LOST)

    def succeeded(self) -> None:
        if self.in_a_row:
            self.console.print(Text(f"reached the server again after {self.in_a_row} "
                                    "failed checks", style="green"))
        if self.in_a_row >= ALERT_AFTER_FAILURES and self.notify_command is not None:
            run_notify_command(self.console, self.notify_command, CONTACT_BACK)
        self.in_a_row = 0


def _poll(client: ApiClient, workstation: Workstation) -> tuple[int, int]:
    counts = client.counts(OnlineState(workstation).cursor)
    return counts.new, counts.emergency


@click.command(epilog="""\b
Example:
  $ journalist status
  3 new messages since the last fetch
  !! 1 EMERGENCY: fetch and read now
  $ journalist status --watch 120      # check every 2 minutes; Ctrl-C to stop
  $ journalist status --watch 60 --notify-command 'notify-send drop'""")
@click.option("--watch", type=click.IntRange(30, 3600), default=None, metavar="SECONDS",
              help="Keep checking every SECONDS (30-3600) and ring the bell on emergencies. "
                   "A failed check is retried, later each time (up to 10 minutes); "
                   f"{ALERT_AFTER_FAILURES} failures in a row ring the bell too.")
@click.option("--notify-command", envvar="JOURNALIST_NOTIFY_COMMAND", metavar="CMD",
              help="Run CMD on new emergencies, and (with --watch) once when contact with "
                   "the server is lost and again when it is back. It gets one fixed line "
                   "(argument and stdin): 'N new emergency reports', or that contact was "
                   "lost or is back [env JOURNALIST_NOTIFY_COMMAND].")
@server_options
@click.pass_obj
def status(workstation: Workstation, watch: int | None, notify_command: str | None,
           server: str, socks: str | None, online_key_file: str | None) -> None:
    """How many new messages (and emergencies) wait on the server since the last fetch."""
    try:
        command = parse_notify_command(notify_command)
    except NotifyCommandError as error:
        raise BadInputError(str(error), hint="quote it as you would in a shell") from None
    alert = EmergencyAlert(Console(), command)
    client = open_client(server, socks, online_key_file)
    console = Console()
    if not watch:
        new, emergencies = _poll(client, workstation)
        console.print(f"{new} new messages since the last fetch")
        alert.observe(emergencies)
        return
    failures = FailedPolls(console, command)
    last: tuple[int, int] | None = None
    while True:
        try:
            current = _poll(client, workstation)
        except (NetworkError, AuthError) as error:
            failures.failed(error, retry_delay(watch, failures.in_a_row + 1))
        else:
            failures.succeeded()
            if current != last:
                console.print(f"{current[0]} new messages since the last fetch")
                last = current
            alert.observe(current[1])
        try:
            time.sleep(retry_delay(watch, failures.in_a_row))
        except KeyboardInterrupt:
            return
