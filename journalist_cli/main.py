"""The `journalist` click group: global options, the error mapping, the subcommands."""

from __future__ import annotations

from typing import Any

import click

from journalist_cli import (
    commands_check,
    commands_identity,
    commands_inbox,
    commands_online,
    commands_reply,
    commands_save,
)
from journalist_cli.errors import EXIT_CODES_EPILOG, as_journalist_error, report
from journalist_cli.workstation import Workstation


class JournalistGroup(click.Group):
    """A group whose commands' errors all go through `errors.report` (the one place)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:
            mapped = as_journalist_error(exc)
            if mapped is None:
                raise
            ctx.exit(report(mapped))


@click.group(cls=JournalistGroup, epilog=EXIT_CODES_EPILOG,
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--home", envvar="JOURNALIST_HOME", type=click.Path(file_okay=False),
              help="Workstation directory [env JOURNALIST_HOME; "
                   "default ~/.local/share/journalist].")
@click.version_option(package_name="drop", prog_name="journalist")
@click.pass_context
def cli(ctx: click.Context, home: str | None) -> None:
    """The responders' tool for the drop.

    \b
    Networked workstation (holds only the online key, moves ciphertext):
      fetch, push, status
    Air-gapped workstation (holds your identity, never touches a network):
      keygen, export-pubkey, export-online-key, team, import, list, read,
      save, reply, export, delete, sent, check

    \b
    A day's work:
      online$   journalist fetch --to /media/usb/in.drop
      offline$  journalist import /media/usb/in.drop && journalist list
      offline$  journalist read 3f2a && journalist reply 9c1e
      offline$  journalist export --to /media/usb/out.drop
      online$   journalist push /media/usb/out.drop
    """
    ctx.obj = Workstation.from_env(home)


for module in (commands_identity, commands_inbox, commands_save, commands_reply,
               commands_online, commands_check):
    for command in module.COMMANDS:
        cli.add_command(command)


def main() -> None:
    """The console script."""
    cli(prog_name="journalist")
