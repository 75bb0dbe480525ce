"""Air-gapped: `import`, `list`, `read`, `delete`."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.text import Text

import keys
from journalist_cli.commands_identity import load_team, open_identity
from journalist_cli.errors import BadInputError
from journalist_cli.import_recipients import trusted_key_count, warn_about_recipients
from journalist_cli.inbox import Inbox, open_inbox
from journalist_cli.inbox_view import decrypt_message, load_rows, render_list, render_message
from journalist_cli.offline_guard import offline
from journalist_cli.progress import byte_progress
from journalist_cli.workstation import Workstation


@click.command("import", epilog="""\b
Example:
  $ journalist import /media/usb/2026-11-24.drop
  imported 7 new envelopes (2 already here)
  !! 1 EMERGENCY: run `journalist list` now""")
@click.argument("bundle", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_obj
@offline
def import_bundle(workstation: Workstation, bundle: Path) -> None:
    """Check a transfer bundle from `fetch` and add its envelopes to the inbox.

    The bundle is treated as hostile: it is validated completely, every
    envelope's SHA-256 is checked, and nothing is kept unless all of it is
    sound. Envelopes stay encrypted on disk; `read` decrypts in memory.
    """
    console = Console(stderr=True)
    inbox = open_inbox(workstation)
    with bundle.open("rb") as src, byte_progress(console) as progress:
        task = progress.add_task("checking", total=None)
        result = inbox.import_bundle(
            src, progress=lambda n: progress.advance(task, n),
            on_manifest=lambda total: progress.update(task, total=total))
    click.echo(f"imported {len(result.new)} new envelopes ({result.already_had} already here)")
    emergencies = sum(1 for i in result.new if i.emergency)
    if emergencies:
        console.print(Text(f"!! {emergencies} EMERGENCY: run `journalist list` now",
                           style="bold white on red"))
    _warn_about_keyring(console, workstation, inbox)
    warn_about_recipients(console, inbox, result.new, trusted_key_count(workstation))


def _warn_about_keyring(console: Console, workstation: Workstation, inbox: Inbox) -> None:
    local = {entry["public_key"] for entry in load_team(workstation)}
    if workstation.public_key_path.exists():
        local.add(workstation.public_key_path.read_text(encoding="ascii").strip())
    server = {entry.public_key for entry in inbox.keyring}
    unknown = server - local
    if unknown:
        console.print(Text(
            f"note: the server's keyring has {len(unknown)} key(s) not in your team list. "
            "Reports are also readable by them. Check with your team; add trusted ones "
            "with `journalist team add`.", style="yellow"))


@click.command("list", epilog="""\b
Example:
  $ journalist list
  (a table: emergencies first, then urgent, then newest, grouped by conversation)
  $ journalist list --no-decrypt      # metadata only, no passphrase""")
@click.option("--decrypt/--no-decrypt", default=True, show_default=True,
              help="Decrypt messages in memory to show urgency and first lines.")
@click.pass_obj
@offline
def list_inbox(workstation: Workstation, decrypt: bool) -> None:
    """Show the inbox: unread marks (●), conversations, emergencies on top."""
    inbox = open_inbox(workstation)
    if not inbox.items:
        click.echo("the inbox is empty: bring a bundle from `journalist fetch` and "
                   "`journalist import` it")
        return
    identity = open_identity(workstation) if decrypt else None
    render_list(Console(), inbox, load_rows(inbox, identity))


@click.command(epilog="""\b
Example:
  $ journalist read 3f2a9c1e
  (the message, its category and urgency, and its attachments)""")
@click.argument("item_id")
@click.pass_obj
@offline
def read(workstation: Workstation, item_id: str) -> None:
    """Decrypt a report, follow-up or reply in memory and show it (marks it read).

    Control characters are shown escaped; attachments are listed, not shown.
    """
    inbox = open_inbox(workstation)
    entry = inbox.get(item_id)
    if entry.item.kind == "attachment":
        raise BadInputError("this is an attachment, not a message",
                            hint=f"save it with `journalist save {entry.item.parent_id or ''} "
                                 "--to DIR`")
    identity = open_identity(workstation)
    message = decrypt_message(inbox, entry, identity)
    if not isinstance(message, keys.Reply | keys.Report | keys.FollowUp):
        raise BadInputError("this envelope does not hold a message")
    render_message(Console(), inbox, entry, message)
    inbox.mark(entry.item.id, read=True)
    inbox.save()


@click.command(epilog="""\b
Example:
  $ journalist delete 3f2a9c1e
  deleted 3f2a9c1e and 2 attachment(s) from this workstation
  $ journalist delete 9c1e --conversation --on-server   # the reporter's whole account""")
@click.argument("item_id")
@click.option("--conversation", is_flag=True,
              help="Delete the whole conversation ITEM_ID belongs to (on the server: the "
                   "reporter's account and everything in it).")
@click.option("--on-server", is_flag=True,
              help="Also ask the server to delete it: queued for the next `export`.")
@click.pass_obj
@offline
def delete(workstation: Workstation, item_id: str, conversation: bool, on_server: bool) -> None:
    """Delete an envelope (and its attachments) or a conversation from this inbox."""
    inbox = open_inbox(workstation)
    if conversation:
        reporter_id = inbox.resolve_reporter(item_id)
        removed = inbox.delete_thread(reporter_id)
        if on_server:
            inbox.pending_reporter_deletions = sorted(
                {*inbox.pending_reporter_deletions, reporter_id})
            inbox.save()
        what = f"conversation {reporter_id[:8]} ({len(removed)} envelopes)"
    else:
        entry = inbox.get(item_id)
        removed = inbox.delete(entry.item.id)
        if on_server:
            inbox.pending_deletions = sorted({*inbox.pending_deletions, entry.item.id})
            inbox.save()
        what = f"{entry.item.id[:8]} and {len(removed) - 1} attachment(s)"
    click.echo(f"deleted {what} from this workstation"
               + (" (server deletion queued for export)" if on_server else ""))


COMMANDS = (import_bundle, list_inbox, read, delete)
