"""At `import`: are the new envelopes encrypted to more keys than this team can account for?

The server serves both the keys browsers seal to (`/keys.json`) and the keyring
listed in bundles, so comparing keyrings cannot catch a server that adds its
own key to the first only. Each envelope's header, though, states how many
recipients it was sealed to (FORMAT.md §2; writers remove duplicates). The
rule (docs/JOURNALIST.md, "Import warnings"):

- a report, follow-up or attachment is sealed by the reporter's browser (or by
  the server for JS-off reports) to the responders' keys only: it may have at
  most as many recipients as there are trusted keys, the local team list plus
  this workstation's own key, each counted once;
- a reply is sealed by a responder's workstation to the reporter's reply key,
  the sender and the sender's team list: one more than the trusted keys.

A count can only show that some recipient is not trusted, never which one,
and a key missing from the team list looks the same as a key the server added.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.console import Console
from rich.text import Text

import keys
from journalist_cli.bundle_manifest import BundleItem
from journalist_cli.commands_identity import load_team
from journalist_cli.inbox import Inbox
from journalist_cli.workstation import Workstation
from keys.envelope import envelope_recipient_count

_HEADER_BYTES = 16  # more than the fixed header (magic, version, count)
_IDS_SHOWN = 5


def trusted_key_count(workstation: Workstation) -> int:
    """How many distinct keys this workstation trusts: its team list plus its own key.

    The own key is read from `public.key` (written by `keygen`); when that file is
    missing or unreadable it still counts as one key, not named in the team list.
    Raises KeysError if the team list holds a malformed key.
    """
    trusted = {str(keys.ResponderPublicKey.parse(entry["public_key"]))
               for entry in load_team(workstation)}
    try:
        own = keys.ResponderPublicKey.parse(
            workstation.public_key_path.read_text(encoding="ascii").strip())
    except (OSError, UnicodeDecodeError, keys.KeysError):
        return len(trusted) + 1
    return len(trusted | {str(own)})


@dataclass
class RecipientFindings:
    """New envelopes whose header names more recipients than the trusted keys allow."""

    from_reporters: list[tuple[str, int]]  # (id, recipients): reports, follow-ups, attachments
    replies: list[tuple[str, int]]
    unreadable_headers: list[str]


def find_extra_recipients(inbox: Inbox, items: Sequence[BundleItem],
                          trusted: int) -> RecipientFindings:
    """Read the header of each of `items` (already in `inbox`) and apply the rule above."""
    findings = RecipientFindings([], [], [])
    for bundle_item in items:
        with inbox.open_envelope(bundle_item.id) as handle:
            head = handle.read(_HEADER_BYTES)
        try:
            count = envelope_recipient_count(head)
        except keys.HeaderError:
            findings.unreadable_headers.append(bundle_item.id)
            continue
        if bundle_item.kind == "reply":
            if count > trusted + 1:
                findings.replies.append((bundle_item.id, count))
        elif count > trusted:
            findings.from_reporters.append((bundle_item.id, count))
    return findings


def _ids(ids: Sequence[str]) -> str:
    shown = ", ".join(i[:8] for i in ids[:_IDS_SHOWN])
    return shown + (f" and {len(ids) - _IDS_SHOWN} more" if len(ids) > _IDS_SHOWN else "")


def warn_about_recipients(console: Console, inbox: Inbox, items: Sequence[BundleItem],
                          trusted: int) -> None:
    """Print a loud warning for reporters' envelopes with untrusted recipients, and
    notes for replies and for envelopes whose header cannot be read."""
    findings = find_extra_recipients(inbox, items, trusted)
    if findings.from_reporters:
        most = max(count for _, count in findings.from_reporters)
        ids = _ids([i for i, _ in findings.from_reporters])
        console.print(Text(
            f"!! WARNING: {len(findings.from_reporters)} report/follow-up/attachment "
            f"envelope(s) ({ids}) are encrypted to up to {most} recipient keys, but your "
            f"team list and your own key are only {trusted}. Someone outside your team list "
            "can read them: the server may be adding a key of its own. Check `journalist team "
            "list` against your team; if it is complete, stop using this drop and tell your "
            "team.",
            style="bold white on red"))
    if findings.replies:
        ids = _ids([i for i, _ in findings.replies])
        console.print(Text(
            f"note: {len(findings.replies)} reply envelope(s) ({ids}) are encrypted to more "
            f"keys than the reporter's, yours and your team list's ({trusted + 1}): a "
            "teammate's team list has keys yours does not. Compare team lists.",
            style="yellow"))
    if findings.unreadable_headers:
        console.print(Text(
            f"note: {len(findings.unreadable_headers)} envelope(s) "
            f"({_ids(findings.unreadable_headers)}) do not start like a drop envelope: "
            "`read` and `save` will refuse them.", style="yellow"))
