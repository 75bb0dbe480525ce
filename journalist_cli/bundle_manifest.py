"""The manifest of a bundle (FORMAT.md §8): typed items, and a strict JSON validator.

Bundles cross the air gap on removable media and are hostile input: every
field is checked for type, shape and range before any work is done, unknown
fields are refused, and every failure is a `BundleError` that says which item
and which field.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from typing import Any

from journalist_cli.errors import BundleError

MAX_MANIFEST_BYTES = 16 * 1024 * 1024
MAX_ITEMS = 100_000
MAX_ITEM_BYTES = 1024 * 1024 * 1024
MAX_TOTAL_BYTES = 64 * 1024 * 1024 * 1024
MAX_KEYRING = 256

KIND_TRANSFER = 1
KIND_REPLY = 2
ITEM_KINDS = ("report", "followup", "attachment", "reply")

ID_RE = re.compile(r"[0-9a-f]{32}")
DAY_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
SHA256_RE = re.compile(r"[0-9a-f]{64}")
REPLY_KEY_RE = re.compile(r"drop-reply-[a-z2-7]{20,120}")
PUBKEY_RE = re.compile(r"drop-pub-[a-z2-7]{20,200}")
FINGERPRINT_RE = re.compile(r"[0-9A-F]{4}( [0-9A-F]{4}){4}")
SIGNATURE_RE = re.compile(r"[A-Za-z0-9+/]{86}==")
NAME_RE = re.compile(r"[^\x00-\x1f\x7f-\x9f]{1,64}")

_ITEM_FIELDS = {"id", "kind", "reporter_id", "parent_id", "size", "day", "emergency",
                "reply_key", "sha256", "signature", "responder"}
_MANIFEST_FIELDS = {KIND_TRANSFER: {"created_day", "cursor", "items", "keyring",
                                    "replies_on_server"},
                    KIND_REPLY: {"created_day", "items", "deletions",
                                 "reporter_deletions"}}


@dataclass(frozen=True)
class BundleItem:
    """One envelope in a bundle; `size` and `sha256` describe its blob exactly."""

    id: str
    kind: str
    reporter_id: str
    size: int
    sha256: str
    day: str
    parent_id: str | None = None
    emergency: bool = False
    reply_key: str | None = None
    signature: str | None = None
    responder: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "reporter_id": self.reporter_id,
                "parent_id": self.parent_id, "size": self.size, "day": self.day,
                "emergency": self.emergency, "reply_key": self.reply_key,
                "sha256": self.sha256, "signature": self.signature,
                "responder": self.responder}


@dataclass(frozen=True)
class KeyringEntry:
    name: str
    public_key: str


@dataclass(frozen=True)
class Manifest:
    """What a bundle holds. `kind` is KIND_TRANSFER or KIND_REPLY."""

    kind: int
    created_day: str
    items: tuple[BundleItem, ...]
    cursor: int | None = None
    keyring: tuple[KeyringEntry, ...] = ()
    replies_on_server: dict[str, tuple[str, ...]] = field(default_factory=dict)
    deletions: tuple[str, ...] = ()
    reporter_deletions: tuple[str, ...] = ()

    @property
    def total_size(self) -> int:
        return sum(item.size for item in self.items)

    def to_json_bytes(self) -> bytes:
        doc: dict[str, Any] = {"created_day": self.created_day,
                               "items": [item.to_json() for item in self.items]}
        if self.kind == KIND_TRANSFER:
            doc["cursor"] = self.cursor
            doc["keyring"] = [{"name": e.name, "public_key": e.public_key}
                              for e in self.keyring]
            doc["replies_on_server"] = {rid: list(ids)
                                        for rid, ids in self.replies_on_server.items()}
        else:
            doc["deletions"] = list(self.deletions)
            doc["reporter_deletions"] = list(self.reporter_deletions)
        return json.dumps(doc, separators=(",", ":"), sort_keys=True).encode("utf-8")


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise BundleError(f"the manifest repeats the field {key!r}")
        result[key] = value
    return result


def _reject_constant(name: str) -> Any:
    raise BundleError(f"the manifest contains {name}, which is not valid JSON here")


def _match(value: Any, pattern: re.Pattern[str], where: str) -> str:
    if not isinstance(value, str) or pattern.fullmatch(value) is None:
        raise BundleError(f"{where} is malformed")
    return value


def _optional(value: Any, pattern: re.Pattern[str], where: str) -> str | None:
    return None if value is None else _match(value, pattern, where)


def _day(value: Any, where: str) -> str:
    text = _match(value, DAY_RE, where)
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        raise BundleError(f"{where} is not a real date") from None
    return text


def _int(value: Any, where: str, maximum: int) -> int:
    # bool is an int in Python; a manifest saying `"size": true` is malformed.
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= maximum:
        raise BundleError(f"{where} must be a whole number between 0 and {maximum}")
    return value


def _item(raw: Any, index: int) -> BundleItem:
    where = f"item {index + 1}"
    if not isinstance(raw, dict):
        raise BundleError(f"{where} is not an object")
    unknown = set(raw) - _ITEM_FIELDS
    missing = {"id", "kind", "reporter_id", "size", "day", "sha256"} - set(raw)
    if unknown or missing:
        raise BundleError(f"{where} has unknown fields {sorted(unknown)} "
                          f"or lacks {sorted(missing)}")
    kind = raw["kind"]
    if kind not in ITEM_KINDS:
        raise BundleError(f"{where} has an unknown kind")
    emergency = raw.get("emergency", False)
    if not isinstance(emergency, bool):
        raise BundleError(f"{where}: emergency must be true or false")
    return BundleItem(
        id=_match(raw["id"], ID_RE, f"{where}: id"),
        kind=kind,
        reporter_id=_match(raw["reporter_id"], ID_RE, f"{where}: reporter_id"),
        size=_int(raw["size"], f"{where}: size", MAX_ITEM_BYTES),
        sha256=_match(raw["sha256"], SHA256_RE, f"{where}: sha256"),
        day=_day(raw["day"], f"{where}: day"),
        parent_id=_optional(raw.get("parent_id"), ID_RE, f"{where}: parent_id"),
        emergency=emergency,
        reply_key=_optional(raw.get("reply_key"), REPLY_KEY_RE, f"{where}: reply_key"),
        signature=_optional(raw.get("signature"), SIGNATURE_RE, f"{where}: signature"),
        responder=_optional(raw.get("responder"), FINGERPRINT_RE, f"{where}: responder"),
    )


def _keyring(raw: Any) -> tuple[KeyringEntry, ...]:
    if not isinstance(raw, list) or len(raw) > MAX_KEYRING:
        raise BundleError(f"the keyring must be a list of at most {MAX_KEYRING} entries")
    entries = []
    for index, entry in enumerate(raw):
        if not isinstance(entry, dict) or set(entry) != {"name", "public_key"}:
            raise BundleError(f"keyring entry {index + 1} is malformed")
        entries.append(KeyringEntry(
            name=_match(entry["name"], NAME_RE, f"keyring entry {index + 1}: name"),
            public_key=_match(entry["public_key"], PUBKEY_RE,
                              f"keyring entry {index + 1}: public_key")))
    return tuple(entries)


def _replies_on_server(raw: Any) -> dict[str, tuple[str, ...]]:
    if not isinstance(raw, dict) or len(raw) > MAX_ITEMS:
        raise BundleError("replies_on_server must be an object of reporter ids")
    result: dict[str, tuple[str, ...]] = {}
    for reporter_id, ids in raw.items():
        _match(reporter_id, ID_RE, "replies_on_server: reporter id")
        if not isinstance(ids, list) or len(ids) > MAX_ITEMS:
            raise BundleError("replies_on_server: each entry must be a list of ids")
        result[reporter_id] = tuple(_match(i, ID_RE, "replies_on_server: id") for i in ids)
    return result


def _id_list(raw: Any, what: str) -> tuple[str, ...]:
    if not isinstance(raw, list) or len(raw) > MAX_ITEMS:
        raise BundleError(f"{what} must be a list of ids")
    ids = tuple(_match(value, ID_RE, f"an id in {what}") for value in raw)
    if len(set(ids)) != len(ids):
        raise BundleError(f"{what} repeats an id")
    return ids


def parse_manifest(kind: int, data: bytes) -> Manifest:
    """Validate manifest bytes for a bundle of `kind`; raise BundleError on any flaw.

    Guarantees on return: ids are unique, every limit of §8 holds, reply bundles
    hold only `reply` items and transfer bundles hold no item fields they should not.
    """
    if kind not in _MANIFEST_FIELDS:
        raise BundleError("unknown bundle kind")
    try:
        doc = json.loads(data.decode("utf-8"), object_pairs_hook=_reject_duplicate_keys,
                         parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise BundleError("the manifest is not valid UTF-8 JSON") from None
    if not isinstance(doc, dict):
        raise BundleError("the manifest is not a JSON object")
    if set(doc) != _MANIFEST_FIELDS[kind]:
        raise BundleError("the manifest's fields do not match its bundle kind")
    raw_items = doc["items"]
    if not isinstance(raw_items, list) or len(raw_items) > MAX_ITEMS:
        raise BundleError(f"a bundle holds at most {MAX_ITEMS} items")
    items = tuple(_item(raw, i) for i, raw in enumerate(raw_items))
    seen: set[str] = set()
    for item in items:
        if item.id in seen:
            raise BundleError(f"the id {item.id} appears twice in the bundle")
        seen.add(item.id)
        if kind == KIND_REPLY and (item.kind != "reply" or item.signature is None
                                   or item.responder is None):
            raise BundleError("a reply bundle may hold only signed replies")
    manifest = Manifest(kind=kind, created_day=_day(doc["created_day"], "created_day"),
                        items=items)
    if manifest.total_size > MAX_TOTAL_BYTES:
        raise BundleError("the bundle declares more than 64 GiB of envelopes")
    if kind == KIND_TRANSFER:
        cursor = doc["cursor"]
        manifest = Manifest(
            kind=kind, created_day=manifest.created_day, items=items,
            cursor=None if cursor is None else _int(cursor, "cursor", 2**63 - 1),
            keyring=_keyring(doc["keyring"]),
            replies_on_server=_replies_on_server(doc["replies_on_server"]))
    else:
        manifest = Manifest(kind=kind, created_day=manifest.created_day, items=items,
                            deletions=_id_list(doc["deletions"], "deletions"),
                            reporter_deletions=_id_list(doc["reporter_deletions"],
                                                        "reporter_deletions"))
    return manifest
