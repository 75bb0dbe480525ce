"""Air-gapped: `reply REPORTER`, `export --to FILE`, `sent REPORTER`."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import secrets
import sys
import tempfile
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

import keys
from journalist_cli.bundle_io import write_bundle
from journalist_cli.bundle_manifest import KIND_REPLY, BundleItem, Manifest
from journalist_cli.commands_identity import load_team, open_identity
from journalist_cli.errors import BadInputError, CryptoError, JournalistError
from journalist_cli.inbox import Inbox, InboxItem, open_inbox, today
from journalist_cli.inbox_view import decrypt_message
from journalist_cli.offline_guard import offline
from journalist_cli.workstation import Workstation

MAX_REPLY_CHARS = 100_000


def _reply_key(inbox: Inbox, reporter_id: str,
               identity: keys.ResponderIdentity) -> keys.ReplyPublicKey:
    """The reporter's reply key: as the server listed it, cross-checked against the
    key inside their own (encrypted) report, so a server cannot swap it for its own."""
    listed = {i.item.reply_key for i in inbox.thread(reporter_id) if i.item.reply_key}
    inside = set()
    for entry in inbox.thread(reporter_id):
        if entry.item.kind == "report":
            message = decrypt_message(inbox, entry, identity)
            if isinstance(message, keys.Report):
                inside.add(str(message.reply_key))
    candidates = inside or listed
    if len(candidates) != 1 or (inside and listed and listed != inside):
        raise CryptoError("the reply key the server lists for this reporter does not match "
                          "the one in their report", hint="do not reply; tell your team")
    return keys.ReplyPublicKey.parse(candidates.pop())


def _compose(text: str | None) -> str:
    if text is None:
        text = sys.stdin.read() if not sys.stdin.isatty() else click.edit(
            "\n# Write your reply above. Lines starting with # are dropped.\n")
        text = "\n".join(line for line in (text or "").splitlines()
                         if not line.startswith("#"))
    text = text.strip()
    if not text:
        raise BadInputError("the reply is empty; nothing was written")
    if len(text) > MAX_REPLY_CHARS:
        raise BadInputError(f"a reply is at most {MAX_REPLY_CHARS} characters")
    return text


@click.command(epilog="""\b
Example:
  $ journalist reply 9c1e                 # opens $EDITOR
  $ echo "We are on it." | journalist reply 9c1e --from "Sam, response team"
  reply 5d0c... queued for reporter 9c1e...; `journalist export` to send it""")
@click.argument("reporter")
@click.option("--from", "signed_as", default="the response team", show_default=True,
              help="The name the reporter sees.")
@click.option("--text", default=None, help="The reply text (default: $EDITOR or stdin).")
@click.pass_obj
@offline
def reply(workstation: Workstation, reporter: str, signed_as: str, text: str | None) -> None:
    """Write a reply to a reporter (by conversation id or a message id).

    It is encrypted to the reporter's reply key, to you and to your team
    (`journalist team list`), and signed with your identity.
    """
    inbox = open_inbox(workstation)
    reporter_id = inbox.resolve_reporter(reporter)
    identity = open_identity(workstation)
    reply_key = _reply_key(inbox, reporter_id, identity)
    body = keys.encode_message(keys.Reply(text=_compose(text), responder=signed_as))
    recipients: list[keys.Recipient] = [reply_key, identity.public]
    for entry in load_team(workstation):
        member = keys.ResponderPublicKey.parse(entry["public_key"])
        if member not in recipients:
            recipients.append(member)
    inbox.save()
    fd, temp = tempfile.mkstemp(dir=inbox.root, prefix=".reply-")
    with os.fdopen(fd, "wb") as dst:
        keys.encrypt(io.BytesIO(body), dst, recipients)
    digest = hashlib.sha256(Path(temp).read_bytes()).hexdigest()
    signature = keys.sign_reply(identity, reply_key, digest)
    item = BundleItem(id=secrets.token_hex(16), kind="reply", reporter_id=reporter_id,
                      size=Path(temp).stat().st_size, sha256=digest, day=today(),
                      signature=base64.b64encode(signature).decode("ascii"),
                      responder=identity.public.fingerprint)
    inbox.add_local(InboxItem(item=item, read=True, outgoing=True), Path(temp))
    click.echo(f"reply {item.id[:8]} queued for reporter {reporter_id[:8]}; "
               "run `journalist export --to FILE` to send it")


@click.command(epilog="""\b
Example:
  $ journalist export --to /media/usb/replies.drop
  exported 2 replies and 1 deletion request
  (networked) $ journalist push /media/usb/replies.drop""")
@click.option("--to", "target", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The reply bundle to write (must not exist).")
@click.option("--again", is_flag=True, help="Include replies already exported.")
@click.pass_obj
@offline
def export(workstation: Workstation, target: Path, again: bool) -> None:
    """Write your queued replies (and deletion requests) into a reply bundle."""
    inbox = open_inbox(workstation)
    chosen = [e for e in inbox.items.values()
              if e.outgoing and (again or e.exported_day is None)]
    if not chosen and not inbox.pending_deletions and not inbox.pending_reporter_deletions:
        raise JournalistError("nothing to export", hint="write one with `journalist reply`")
    if target.exists():
        raise BadInputError(f"{target} already exists; not overwriting it")
    manifest = Manifest(kind=KIND_REPLY, created_day=today(),
                        items=tuple(e.item for e in chosen),
                        deletions=tuple(inbox.pending_deletions),
                        reporter_deletions=tuple(inbox.pending_reporter_deletions))
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(fd, "wb") as dst:
            write_bundle(dst, manifest, lambda i: inbox.open_envelope(i.id))
            dst.flush()
            os.fsync(dst.fileno())
        os.link(temp, target)
    finally:
        Path(temp).unlink(missing_ok=True)
    for entry in chosen:
        inbox.mark(entry.item.id, exported_day=today())
    deletions = len(inbox.pending_deletions) + len(inbox.pending_reporter_deletions)
    inbox.pending_deletions, inbox.pending_reporter_deletions = [], []
    inbox.save()
    click.echo(f"exported {len(chosen)} replies and {deletions} deletion request(s) "
               f"to {target}")


@click.command(epilog="""\b
Example:
  $ journalist sent 9c1e
  (each reply: day, who sent it, exported, and whether it is still on the server)""")
@click.argument("reporter")
@click.pass_obj
@offline
def sent(workstation: Workstation, reporter: str) -> None:
    """What was replied to a reporter and, per the last fetch, what they still have.

    A reply gone from the server was deleted by the reporter (usually after
    reading it) or with the whole account.
    """
    inbox = open_inbox(workstation)
    reporter_id = inbox.resolve_reporter(reporter)
    on_server = set(inbox.replies_on_server.get(reporter_id, []))
    table = Table("reply", "day", "by", "exported", "on the server",
                  title=f"replies to {reporter_id[:8]} (server as of {inbox.server_day or '-'})")
    for entry in sorted(inbox.thread(reporter_id), key=lambda e: (e.item.day, e.order)):
        if entry.item.kind != "reply":
            continue
        if entry.item.id in on_server:
            status = "yes, not yet deleted by the reporter"
        elif entry.outgoing and entry.exported_day is None:
            status = "not exported yet"
        elif inbox.server_day and entry.exported_day and inbox.server_day >= entry.exported_day:
            status = "gone (deleted by the reporter)" if entry.item.id in inbox.seen_on_server \
                else "not seen on the server yet"
        else:
            status = "unknown until the next fetch"
        table.add_row(entry.item.id[:8], entry.item.day,
                      "you" if entry.outgoing else (entry.item.responder or "?"),
                      entry.exported_day or "-", status)
    Console().print(table)


COMMANDS = (reply, export, sent)
