"""Air-gapped: `reply REPORTER`, `export --to FILE`, `sent REPORTER`."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import secrets
import sys
import tempfile
from dataclasses import dataclass
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
from journalist_cli.inbox_view import MESSAGE_KINDS, decrypt_message
from journalist_cli.offline_guard import offline
from journalist_cli.safe_text import escape_terminal
from journalist_cli.server_deletions import ExportedDeletions
from journalist_cli.workstation import Workstation
from keys.atomic_file import publish

MAX_REPLY_CHARS = 100_000


@dataclass(frozen=True)
class BoundReport:
    """The decrypted report whose reply key a reply is sealed to."""

    entry: InboxItem
    report: keys.Report


def bound_report(inbox: Inbox, reporter_id: str,
                 identity: keys.ResponderIdentity) -> BoundReport:
    """The earliest report of the conversation that opens here, whose reply key a reply
    goes to. The key is taken only from inside decrypted reports: bundle labels and the
    listed `reply_key` are the server's word, so every report, follow-up and reply item
    of the thread is decrypted whatever its label says (those that do not open for this
    identity are passed over). Raises CryptoError when no report opens, when the reports
    carry different keys, or when a key the server lists differs from theirs.
    """
    thread = sorted(inbox.thread(reporter_id), key=lambda e: (e.item.day, e.order))
    reports = []
    for entry in thread:
        if entry.item.kind not in MESSAGE_KINDS:
            continue
        try:
            message = decrypt_message(inbox, entry, identity)
        except keys.KeysError:
            continue
        if isinstance(message, keys.Report):
            reports.append(BoundReport(entry, message))
    forged = f"conversation {reporter_id[:8]} looks forged: "
    hint = "do not reply; tell your team"
    if not reports:
        raise CryptoError(forged + "none of its messages is a report that opens here, so "
                          "there is no reply key you can trust",
                          hint="if its report was never imported here, import the bundle "
                               "that brought it; otherwise " + hint)
    inside = {str(bound.report.reply_key) for bound in reports}
    if len(inside) > 1:
        raise CryptoError(forged + f"its {len(reports)} reports carry different reply keys",
                          hint=hint)
    if {e.item.reply_key for e in thread if e.item.reply_key} - inside:
        raise CryptoError(forged + "the reply key the server lists does not match the one "
                          "inside the reporter's report", hint=hint)
    return reports[0]


def _describe(bound: BoundReport) -> str:
    text = bound.report.text.strip()
    first_line = text.splitlines()[0][:60] if text else ""
    return (f"this reply goes to the reply key of report {bound.entry.item.id[:8]} "
            f"({bound.entry.item.day}, "
            f"{escape_terminal(bound.report.category, keep_newlines=False)}): "
            f"\"{escape_terminal(first_line, keep_newlines=False)}\"")


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
  this reply goes to the reply key of report 3f2a9c1e (2026-11-24, threats): "..."
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
    bound = bound_report(inbox, reporter_id, identity)
    # Shown before anything is sealed: the server decides which envelopes form a
    # conversation, so the responder checks that this is the reporter they mean.
    click.echo(_describe(bound))
    reply_key = bound.report.reply_key
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
  exported 2 replies and 1 deletion request(s) to /media/usb/replies.drop
  (networked) $ journalist push /media/usb/replies.drop
  $ journalist export --to /media/usb/again.drop --again   # that stick was lost""")
@click.option("--to", "target", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The reply bundle to write (must not exist).")
@click.option("--again", is_flag=True,
              help="Include replies already exported, and every deletion request not yet "
                   "seen done on the server (after a lost bundle).")
@click.pass_obj
@offline
def export(workstation: Workstation, target: Path, again: bool) -> None:
    """Write your queued replies (and deletion requests) into a reply bundle.

    Deletion requests are kept after export until a fetched bundle shows them
    done, so `--again` can send them again if this bundle is lost.
    """
    inbox = open_inbox(workstation)
    chosen = [e for e in inbox.items.values()
              if e.outgoing and (again or e.exported_day is None)]
    resent = inbox.exported_deletions if again else ExportedDeletions()
    deletions = sorted({*inbox.pending_deletions, *resent.envelopes})
    reporter_deletions = sorted({*inbox.pending_reporter_deletions, *resent.reporters})
    if not chosen and not deletions and not reporter_deletions:
        raise JournalistError("nothing to export", hint="write one with `journalist reply`")
    if target.exists():
        raise BadInputError(f"{target} already exists; not overwriting it")
    manifest = Manifest(kind=KIND_REPLY, created_day=today(),
                        items=tuple(e.item for e in chosen), deletions=tuple(deletions),
                        reporter_deletions=tuple(reporter_deletions))
    # mkstemp's file is already 0600; keys' private_temp_file would fchmod, which FAT
    # (fusefat) refuses with ENOSYS.
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    temp = Path(name)
    try:
        with os.fdopen(fd, "wb") as dst:
            write_bundle(dst, manifest, lambda i: inbox.open_envelope(i.id))
            dst.flush()
            os.fsync(dst.fileno())
        # Hard links where the filesystem has them, a checked rename on FAT sticks;
        # the directory is flushed too, before the inbox records the export below.
        publish(temp, target, overwrite=False)
    except FileExistsError:
        raise BadInputError(f"{target} already exists; not overwriting it") from None
    finally:
        temp.unlink(missing_ok=True)
    for entry in chosen:
        inbox.mark(entry.item.id, exported_day=today())
    inbox.exported_deletions.record(inbox.pending_deletions,
                                    inbox.pending_reporter_deletions, today())
    inbox.pending_deletions, inbox.pending_reporter_deletions = [], []
    inbox.save()
    click.echo(f"exported {len(chosen)} replies and "
               f"{len(deletions) + len(reporter_deletions)} deletion request(s) to {target}")


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
