"""`dropbox`: the operator's command line. Each area lives in its own module."""

from __future__ import annotations

import click

from dropbox.commands import keys_cmd, maintenance_cmd, run_cmd, testnet_cmd


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Run and administer the drop (reporter app, responder API, onion services)."""


cli.add_command(keys_cmd.keys)
cli.add_command(run_cmd.run)
cli.add_command(run_cmd.demo)
cli.add_command(testnet_cmd.testnet)
cli.add_command(maintenance_cmd.purge)
cli.add_command(maintenance_cmd.backup)
cli.add_command(maintenance_cmd.restore)


def main() -> None:
    cli(prog_name="dropbox")


if __name__ == "__main__":
    main()
