"""Decrypting inbox messages in memory and showing them safely with rich.

Attacker-written text is only ever put on screen as `rich.text.Text` (never
parsed as markup) after `escape_terminal`, so neither rich markup nor terminal
escape sequences in a report can do anything but appear as visible text.
"""

from __future__ import annotations

import io
import os
from collections import defaultdict
from dataclasses import dataclass

from rich.console import Console
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

import keys
from journalist_cli.inbox import Inbox, InboxItem
from journalist_cli.line_table import Cell, LineTable
from journalist_cli.safe_text import escape_terminal
from keys.messages import MAX_MESSAGE_BYTES

MESSAGE_KINDS = ("report", "followup", "reply")
URGENCY_RANK = {"emergency": 0, "urgent": 1, "normal": 2}


# The largest message keys accepts, plus the envelope's worst-case overhead
# (32 stanzas, the MAC, the stream header and 17 bytes per 64 KiB chunk).
_MAX_MESSAGE_ENVELOPE = MAX_MESSAGE_BYTES + 4096 + 17 * (MAX_MESSAGE_BYTES // 65536 + 1)


def decrypt_message(inbox: Inbox, entry: InboxItem,
                    identity: keys.ResponderIdentity) -> keys.Report | keys.FollowUp | keys.Reply:
    """Open a report, follow-up or reply in memory. Raises KeysError subclasses.

    The envelope's size is checked first: a hostile server could label a huge
    attachment as a report, and decrypting that into memory would exhaust the
    air-gapped machine.
    """
    with inbox.open_envelope(entry.item.id) as src:
        if os.fstat(src.fileno()).st_size > _MAX_MESSAGE_ENVELOPE:
            raise keys.MessageError(
                f"{entry.item.id} is too large to be a {entry.item.kind}; "
                "the bundle mislabels an attachment or is hostile")
        plaintext = io.BytesIO()
        keys.decrypt(src, plaintext, identity)
    return keys.decode_message(plaintext.getvalue())


@dataclass
class Row:
    entry: InboxItem
    message: keys.Report | keys.FollowUp | keys.Reply | None
    error: str | None = None

    @property
    def urgency(self) -> str:
        if self.entry.item.emergency:
            return "emergency"
        if isinstance(self.message, keys.Report):
            return self.message.urgency
        return "normal"


def load_rows(inbox: Inbox, identity: keys.ResponderIdentity | None) -> list[Row]:
    """Every message in the inbox, decrypted when `identity` is given (failures noted)."""
    rows = []
    for entry in inbox.items.values():
        if entry.item.kind not in MESSAGE_KINDS:
            continue
        if identity is None:
            rows.append(Row(entry, None))
            continue
        try:
            rows.append(Row(entry, decrypt_message(inbox, entry, identity)))
        except keys.KeysError as exc:
            rows.append(Row(entry, None, error=type(exc).__name__))
    return rows


def _preview(row: Row) -> Cell:
    if row.error:
        return f"(cannot open: {row.error})", "red"
    if row.message is None:
        return "(encrypted)", "dim"
    first_line = row.message.text.strip().splitlines()[0] if row.message.text.strip() else ""
    return escape_terminal(first_line[:60], keep_newlines=False), ""


def _label(row: Row) -> Cell:
    kind = row.entry.item.kind
    if isinstance(row.message, keys.Report):
        return "report · " + escape_terminal(row.message.category, keep_newlines=False), ""
    if kind == "reply":
        return ("reply (sent)" if row.entry.outgoing else "reply"), "cyan"
    return kind, ""


def render_list(console: Console, inbox: Inbox, rows: list[Row]) -> None:
    """The inbox as one table: emergencies first, then urgent, then newest; by thread."""
    threads: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        threads[row.entry.item.reporter_id].append(row)

    def thread_key(reporter_id: str) -> tuple[int, str]:
        members = threads[reporter_id]
        rank = min(URGENCY_RANK[r.urgency] for r in members)
        latest = max(r.entry.item.day for r in members)
        return rank, "".join(chr(0x10FFFF - ord(c)) for c in latest)

    emergencies = sum(1 for r in rows if r.urgency == "emergency" and not r.entry.read)
    if emergencies:
        console.print(Panel(Text(f"{emergencies} UNREAD EMERGENCY MESSAGE(S): read them first",
                                 style="bold white on red", justify="center"),
                            style="red"))
    table = LineTable(("", "conversation", "id", "day", "urgency", "kind", "first line",
                       "files"), flexible=6, right_aligned=frozenset({7}),
                      title=f"inbox: {len(rows)} messages in {len(threads)} conversations")
    attachments: dict[str, int] = defaultdict(int)
    for entry in inbox.items.values():
        if entry.item.kind == "attachment" and entry.item.parent_id:
            attachments[entry.item.parent_id] += 1
    for reporter_id in sorted(threads, key=thread_key):
        members = sorted(threads[reporter_id], key=lambda r: (r.entry.item.day, r.entry.order))
        for position, row in enumerate(members):
            style = {"emergency": "bold red", "urgent": "yellow"}.get(row.urgency, "")
            table.add_row((("●" if not row.entry.read and not row.entry.outgoing else "", ""),
                           (reporter_id[:8] if position == 0 else "", ""),
                           (row.entry.item.id[:8], ""), (row.entry.item.day, ""),
                           (row.urgency.upper() if row.urgency != "normal" else "", ""),
                           _label(row), _preview(row),
                           (str(attachments.get(row.entry.item.id, "")), "")), style=style)
        table.add_section()
    table.print(console)


def render_message(console: Console, inbox: Inbox, entry: InboxItem,
                   message: keys.Report | keys.FollowUp | keys.Reply) -> None:
    """One message in full: header, escaped text, attachment list."""
    item = entry.item
    header = Text(f"{item.kind} {item.id}  ·  conversation {item.reporter_id[:8]}  ·  {item.day}")
    if isinstance(message, keys.Report):
        header.append(f"\ncategory: {message.category}  ·  urgency: {message.urgency}")
        if message.lang:
            header.append(f"  ·  language: {message.lang}")
    if isinstance(message, keys.Reply):
        signed = escape_terminal(message.responder, keep_newlines=False)
        header.append(f"\nfrom responder: {signed}")
    if item.emergency or (isinstance(message, keys.Report) and message.urgency == "emergency"):
        console.print(Panel.fit(Text(" EMERGENCY ", style="bold white on red")))
    console.print(Panel.fit(header, style="bold"))
    console.print(Text(escape_terminal(message.text)), soft_wrap=True)
    refs = getattr(message, "attachments", ())
    if refs:
        by_hash = {e.item.sha256: e for e in inbox.items.values()
                   if e.item.kind == "attachment"}
        table = Table("#", "name", "size", "type", "status", title="attachments")
        for number, ref in enumerate(refs, 1):
            status = "in inbox" if ref.envelope_sha256 in by_hash else "not received"
            table.add_row(str(number), Text(escape_terminal(ref.name, keep_newlines=False)),
                          f"{ref.size:,} B", Text(escape_terminal(ref.media_type)), status)
        console.print(table)
        console.print(Text(f"save them with: journalist save {item.id[:8]} --to DIR"),
                      style="dim")
