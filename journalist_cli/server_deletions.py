"""Deletion requests already exported, kept until a fetched bundle shows them done.

`delete --on-server` queues an id in the inbox index; `export` writes the
queue into a reply bundle and moves each request here, with the day of that
export. A reply bundle can be lost between the two workstations (a dead USB
stick, a `push` that never ran), so a request is not forgotten when it is
exported: `export --again` sends every request recorded here once more. The
server answers "already gone" for what it already deleted, so sending one
twice does no harm; forgetting one leaves a reporter's data on the server.

A request is forgotten only when a fetched bundle proves its target gone.
The only part of a transfer bundle that lists what the server still holds is
`replies_on_server`: for each reporter the networked workstation follows
(one it has seen a reply for), the replies still there. The networked
workstation stops listing a reporter only when the server answers that the
account does not exist. Comparing the server view before an import with the
newer one it brings gives the rule:

- a reporter account is gone when the old view listed it and the new one
  does not;
- an envelope is gone when the old view listed it as a reply of reporter R
  and the new view lists R without it, or no longer lists R.

Nothing in a bundle can prove that a report, follow-up or attachment was
deleted (bundles list only what is new), so those requests stay recorded and
every `export --again` re-sends them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from journalist_cli.errors import JournalistError


@dataclass
class ExportedDeletions:
    """Deletion requests that went out in a reply bundle: target id → day first exported."""

    envelopes: dict[str, str] = field(default_factory=dict)
    reporters: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_index(cls, doc: Mapping[str, Any]) -> ExportedDeletions:
        """Read the two index members (absent in older indexes: empty). Raises
        JournalistError if either is not an object of strings."""
        parts = []
        for member in ("exported_deletions", "exported_reporter_deletions"):
            value = doc.get(member, {})
            if not isinstance(value, dict) or not all(
                    isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
                raise JournalistError(f"the inbox index is damaged: {member} is malformed",
                                      hint="restore inbox/index.json from a backup")
            parts.append(dict(value))
        return cls(envelopes=parts[0], reporters=parts[1])

    def to_index(self) -> dict[str, dict[str, str]]:
        return {"exported_deletions": dict(sorted(self.envelopes.items())),
                "exported_reporter_deletions": dict(sorted(self.reporters.items()))}

    def __len__(self) -> int:
        return len(self.envelopes) + len(self.reporters)

    def record(self, envelope_ids: Iterable[str], reporter_ids: Iterable[str],
               day: str) -> None:
        """Note requests written into a bundle on `day`; one already noted keeps its day."""
        for envelope_id in envelope_ids:
            self.envelopes.setdefault(envelope_id, day)
        for reporter_id in reporter_ids:
            self.reporters.setdefault(reporter_id, day)

    def forget_done(self, before: Mapping[str, Sequence[str]],
                    after: Mapping[str, Sequence[str]]) -> list[str]:
        """Forget the requests that the server view `after` (newer) shows done, by the
        rule in the module docstring, given the view `before`; return the ids forgotten."""
        done = [r for r in self.reporters if r in before and r not in after]
        for reporter_id in done:
            del self.reporters[reporter_id]
        listed_under = {reply: reporter for reporter, replies in before.items()
                        for reply in replies}
        gone = [e for e in self.envelopes if e in listed_under
                and e not in after.get(listed_under[e], ())]
        for envelope_id in gone:
            del self.envelopes[envelope_id]
        return done + gone
