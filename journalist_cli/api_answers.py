"""The shapes of the responder API's JSON answers (FORMAT.md §9), checked before use.

The server may be compromised or a proxy may answer in its place, so every
answer is hostile input: each endpoint's answer is checked for type, shape
and range here, and turned into typed values. Anything else raises
`NetworkError` (exit 5), never a KeyError or TypeError traceback.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from journalist_cli.bundle_manifest import (
    DAY_RE,
    FINGERPRINT_RE,
    ID_RE,
    ITEM_KINDS,
    MAX_ITEM_BYTES,
    REPLY_KEY_RE,
    SIGNATURE_RE,
    BundleItem,
)
from journalist_cli.errors import NetworkError

MAX_SEQ = 2**63 - 1


@dataclass(frozen=True)
class ListedItem:
    """One envelope as the server lists it; every field already checked."""

    id: str
    kind: str
    reporter_id: str
    size: int
    day: str
    parent_id: str | None
    emergency: bool
    reply_key: str | None
    signature: str | None
    responder: str | None

    def in_bundle(self, sha256: str) -> BundleItem:
        """The bundle item for this envelope, whose downloaded bytes hash to `sha256`."""
        return BundleItem(id=self.id, kind=self.kind, reporter_id=self.reporter_id,
                          size=self.size, sha256=sha256, day=self.day,
                          parent_id=self.parent_id, emergency=self.emergency,
                          reply_key=self.reply_key, signature=self.signature,
                          responder=self.responder)


@dataclass(frozen=True)
class ItemPage:
    items: tuple[ListedItem, ...]
    next_after: int
    more: bool


@dataclass(frozen=True)
class Counts:
    new: int
    emergency: int
    latest: int


def _odd(what: str) -> NetworkError:
    return NetworkError(f"the server answered oddly: {what}",
                        hint="try again later; if it persists, the server (or something "
                             "answering in its place) is misbehaving: tell its operator")


def _object(answer: Any, what: str, fields: set[str]) -> dict[str, Any]:
    if not isinstance(answer, dict):
        raise _odd(f"{what} is not a JSON object")
    missing = fields - set(answer)
    if missing:
        raise _odd(f"{what} lacks {', '.join(sorted(missing))}")
    return answer


def _number(value: Any, what: str, maximum: int) -> int:
    # bool is an int in Python; `"size": true` is not a size.
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= maximum:
        raise _odd(f"{what} is not a whole number from 0 to {maximum}" if maximum < MAX_SEQ
                   else f"{what} is not a whole number, 0 or more")
    return value


def _text(value: Any, pattern: re.Pattern[str], what: str) -> str:
    if not isinstance(value, str) or pattern.fullmatch(value) is None:
        raise _odd(f"{what} is malformed")
    return value


def _optional_text(value: Any, pattern: re.Pattern[str], what: str) -> str | None:
    return None if value is None else _text(value, pattern, what)


def _listed_item(raw: Any, index: int) -> ListedItem:
    where = f"envelope {index + 1} of the listing"
    raw = _object(raw, where, {"id", "kind", "reporter_id", "size", "day"})
    if raw["kind"] not in ITEM_KINDS:
        raise _odd(f"{where} has an unknown kind")
    emergency = raw.get("emergency", False)
    if not isinstance(emergency, bool):
        raise _odd(f"{where}: emergency is not true or false")
    day = _text(raw["day"], DAY_RE, f"{where}: day")
    try:
        dt.date.fromisoformat(day)
    except ValueError:
        raise _odd(f"{where}: day is not a real date") from None
    return ListedItem(
        id=_text(raw["id"], ID_RE, f"{where}: id"), kind=raw["kind"],
        reporter_id=_text(raw["reporter_id"], ID_RE, f"{where}: reporter_id"),
        size=_number(raw["size"], f"{where}: size", MAX_ITEM_BYTES), day=day,
        parent_id=_optional_text(raw.get("parent_id"), ID_RE, f"{where}: parent_id"),
        emergency=emergency,
        reply_key=_optional_text(raw.get("reply_key"), REPLY_KEY_RE, f"{where}: reply_key"),
        signature=_optional_text(raw.get("signature"), SIGNATURE_RE, f"{where}: signature"),
        responder=_optional_text(raw.get("responder"), FINGERPRINT_RE, f"{where}: responder"))


def item_page(answer: Any, limit: int) -> ItemPage:
    """GET /api/v1/items: at most `limit` checked envelopes, the next cursor, `more`."""
    page = _object(answer, "the item listing", {"items", "next_after", "more"})
    if not isinstance(page["items"], list) or len(page["items"]) > limit:
        raise _odd(f"the item listing is not a list of at most {limit} envelopes")
    if not isinstance(page["more"], bool):
        raise _odd("the item listing's `more` is not true or false")
    return ItemPage(items=tuple(_listed_item(raw, i) for i, raw in enumerate(page["items"])),
                    next_after=_number(page["next_after"], "the listing's cursor", MAX_SEQ),
                    more=page["more"])


def counts(answer: Any) -> Counts:
    """GET /api/v1/counts: how many new messages and emergencies, and the latest cursor."""
    doc = _object(answer, "the counts answer", {"new", "emergency", "latest"})
    return Counts(new=_number(doc["new"], "the count of new messages", MAX_SEQ),
                  emergency=_number(doc["emergency"], "the count of emergencies", MAX_SEQ),
                  latest=_number(doc["latest"], "the latest cursor", MAX_SEQ))


def keyring(answer: Any) -> tuple[tuple[str, str], ...]:
    """GET /api/v1/keyring: (name, public key) pairs, as strings.

    Only the shape is checked here; the bundle writer applies the manifest's
    rules (FORMAT.md §8.1) to the names and keys themselves.
    """
    entries = _object(answer, "the keyring", {"keyring"})["keyring"]
    if not isinstance(entries, list):
        raise _odd("the keyring is not a list")
    pairs = []
    for index, entry in enumerate(entries):
        entry = _object(entry, f"keyring entry {index + 1}", {"name", "public_key"})
        if not isinstance(entry["name"], str) or not isinstance(entry["public_key"], str):
            raise _odd(f"keyring entry {index + 1} is not a name and a key")
        pairs.append((entry["name"], entry["public_key"]))
    return tuple(pairs)


def reply_ids(answer: Any, reporter_id: str) -> tuple[str, ...]:
    """GET /api/v1/replies/REPORTER: the ids of the replies the server still holds."""
    doc = _object(answer, "the reply list", {"reporter_id", "replies"})
    if doc["reporter_id"] != reporter_id:
        raise _odd("the reply list is for another conversation")
    if not isinstance(doc["replies"], list):
        raise _odd("the reply list is not a list")
    return tuple(_text(_object(reply, "a listed reply", {"id"})["id"], ID_RE,
                       "a listed reply's id") for reply in doc["replies"])


def deletion(answer: Any) -> tuple[str, ...]:
    """POST /api/v1/items/ID/delete or /reporters/ID/delete: the ids deleted."""
    deleted = _object(answer, "the answer to a deletion", {"deleted"})["deleted"]
    if not isinstance(deleted, list):
        raise _odd("the list of deleted envelopes is not a list")
    return tuple(_text(i, ID_RE, "a deleted envelope's id") for i in deleted)


def refusal_reason(answer: Any) -> str | None:
    """The server's `error` text from a refused upload or deletion, None if it gave none.

    The text is the server's own words: print it only through `escape_terminal`.
    """
    doc = _object(answer, "the answer to an upload or deletion", set())
    reason = doc.get("error")
    if reason is not None and not isinstance(reason, str):
        raise _odd("the reason for a refusal is not text")
    return reason
