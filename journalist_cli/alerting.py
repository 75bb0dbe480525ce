"""Emergency alerts for `journalist status`: a bell, a loud banner, and an optional command.

The notify command (`--notify-command CMD`, env JOURNALIST_NOTIFY_COMMAND) is
how a team wires emergencies into whatever wakes someone up (notify-send, a
mail or Signal relay). It receives one line as its last argument and on stdin:
`N new emergency reports`, or, from a watch, CONTACT_LOST once an outage has
lasted ALERT_AFTER_FAILURES checks and CONTACT_BACK when it ends, because a
watch that cannot see the server is not watching for emergencies. Never an
id, a day, a size or any content. It runs
without a shell, with the JOURNALIST_* variables removed from its environment
(the online key may be one of them), and its failure never stops the watch.
What the line still reveals (that emergencies arrived, and when) is in
docs/THREAT_MODEL.md.
"""

from __future__ import annotations

import os
import shlex
import subprocess

from rich.console import Console
from rich.panel import Panel
from rich.text import Text

NOTIFY_TIMEOUT_SECONDS = 30.0
CONTACT_LOST = "no contact with the drop server: emergencies may be waiting unseen"
CONTACT_BACK = "contact with the drop server is back"


class NotifyCommandError(ValueError):
    """The notify command is empty or cannot be split into words."""


def alert_text(count: int) -> str:
    """The only thing a notify command is ever told."""
    return f"{count} new emergency report{'' if count == 1 else 's'}"


def parse_notify_command(command: str | None) -> list[str] | None:
    """The command's words (shell-style quoting, no shell); None when not set."""
    if command is None or not command.strip():
        return None
    try:
        words = shlex.split(command)
    except ValueError as error:
        raise NotifyCommandError(f"the notify command cannot be parsed: {error}") from None
    return words


def _scrubbed_environment() -> dict[str, str]:
    return {name: value for name, value in os.environ.items()
            if not name.startswith("JOURNALIST_")}


class EmergencyAlert:
    """Raises the alarm once per batch of new emergencies seen by `status`.

    `observe(n)` takes the server's count of emergencies since the last fetch.
    It alerts when that count grew (with the number of new ones), stays quiet
    while it is unchanged, and starts over when it shrinks (a fetch moved the
    cursor).
    """

    def __init__(self, console: Console, notify_command: list[str] | None) -> None:
        self.console = console
        self.notify_command = notify_command
        self.seen = 0

    def observe(self, emergencies: int) -> int:
        """Alert about emergencies beyond those already seen; returns how many were new."""
        new = emergencies - self.seen if emergencies > self.seen else 0
        self.seen = emergencies
        if new:
            self._banner(emergencies)
            self._notify(new)
        return new

    def _banner(self, emergencies: int) -> None:
        # The bell goes to the stream even when it is not a terminal (rich drops it then).
        self.console.file.write("\a")
        self.console.file.flush()
        message = Text(f"!! {emergencies} EMERGENCY: fetch and read now !!",
                       style="bold white on red", justify="center")
        self.console.print(Panel(message, style="bold red", title="EMERGENCY",
                                 subtitle="journalist fetch"))

    def _notify(self, new: int) -> None:
        if self.notify_command is not None:
            run_notify_command(self.console, self.notify_command, alert_text(new))


def run_notify_command(console: Console, command: list[str], line: str) -> None:
    """Run `command` with `line` as its last argument and on stdin; say so on `console`
    if it fails or times out. Never raises: a broken notifier must not end a watch."""
    try:
        done = subprocess.run(  # noqa: S603 - the responder's own configured command
            [*command, line], input=line + "\n", text=True,
            capture_output=True, timeout=NOTIFY_TIMEOUT_SECONDS, check=False,
            env=_scrubbed_environment())
    except (OSError, subprocess.TimeoutExpired) as error:
        console.print(Text(f"the notify command failed: {error}", style="bold red"))
        return
    if done.returncode != 0:
        console.print(Text(f"the notify command exited with {done.returncode}",
                           style="bold red"))
