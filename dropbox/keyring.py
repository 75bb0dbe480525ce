"""The responders' public keys that every report is sealed to: `instance/keyring.json`.

The file is a JSON list of `{"name": ..., "key": "drop-pub-..."}` entries. Every
key is parsed (checksum, small-order points) and every name checked against the
FORMAT.md §8.1 rule when loaded or added, so a corrupted keyring is refused
loudly instead of sealing to a wrong key, and a name the workstations would
refuse in a bundle never gets in (one such entry would stop every `journalist
fetch`). Writes go to a temp file in the same directory, fsynced, then renamed
over the old one.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from keys import KeysError, ResponderPublicKey

# FORMAT.md §8.1: a responder name is 1-64 characters, none of them a control
# character (C0, DEL, C1). The same rule as journalist_cli.bundle_manifest.NAME_RE,
# restated here because dropbox/ must not import the workstation's package; a unit
# test (tests/unit/test_keyring_names.py) checks that the two agree.
MAX_NAME_CHARS = 64
_NAME_RE = re.compile(r"[^\x00-\x1f\x7f-\x9f]{1,64}")


class KeyringError(Exception):
    """The keyring file is unreadable or malformed, or a change to it was refused."""


def name_problem(name: str) -> str | None:
    """Why `name` cannot be a responder's name (FORMAT.md §8.1), or None if it can.

    Stricter than the format in one way: a lone surrogate (what an undecodable
    command-line byte becomes) is refused, since it cannot be written as UTF-8.
    """
    if not name:
        return "a responder needs a name"
    if len(name) > MAX_NAME_CHARS:
        return f"a responder's name can have at most {MAX_NAME_CHARS} characters, not {len(name)}"
    if _NAME_RE.fullmatch(name) is None:
        return "a responder's name cannot contain control characters (tabs, line breaks...)"
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return "a responder's name must be valid text (it has an undecodable byte)"
    return None


@dataclass(frozen=True)
class KeyringEntry:
    name: str
    key: ResponderPublicKey

    @property
    def fingerprint(self) -> str:
        return str(self.key.fingerprint)


def _parse_key(name: str, key_str: str) -> ResponderPublicKey:
    try:
        return ResponderPublicKey.parse(key_str.strip())
    except KeysError as error:
        raise KeyringError(f"the key of {name!r} is not a valid drop-pub key: {error}") from error


def _normalise_fingerprint(value: str) -> str:
    return "".join(value.split()).upper()


class Keyring:
    """The responders' public keys, in the order they were added."""

    def __init__(self, path: Path, entries: list[KeyringEntry]) -> None:
        self.path = path
        self._entries = entries

    @classmethod
    def load(cls, path: Path) -> Keyring:
        """Read the keyring at `path`; a missing file is an empty keyring.

        Raises KeyringError if the file is not a list of {name, key} with valid keys.
        """
        try:
            raw = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return cls(path, [])
        except UnicodeDecodeError:
            raise KeyringError(f"{path} is not UTF-8 text") from None
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as error:
            raise KeyringError(f"{path} is not valid JSON: {error}") from error
        except RecursionError:
            raise KeyringError(f"{path} is nested too deeply to be a keyring") from None
        if not isinstance(data, list):
            raise KeyringError(f"{path} must hold a JSON list of {{name, key}} entries")
        entries = []
        for number, item in enumerate(data, start=1):
            if not (
                isinstance(item, dict)
                and isinstance(item.get("name"), str)
                and isinstance(item.get("key"), str)
            ):
                raise KeyringError(f"{path}: every entry needs a string 'name' and 'key'")
            problem = name_problem(item["name"])
            if problem is not None:
                # !a: the name may hold the very control characters refused here.
                shown = f"{item['name'][:MAX_NAME_CHARS]!a}"
                raise KeyringError(
                    f"{path}: entry {number} ({shown}): {problem}. Fix or "
                    "remove that entry: workstations refuse bundles whose keyring has it")
            entries.append(KeyringEntry(item["name"], _parse_key(item["name"], item["key"])))
        return cls(path, entries)

    @property
    def entries(self) -> list[KeyringEntry]:
        return list(self._entries)

    def recipients(self) -> list[ResponderPublicKey]:
        """The keys to seal to, duplicates removed (FORMAT.md §2), in keyring order."""
        seen: set[str] = set()
        keys: list[ResponderPublicKey] = []
        for entry in self._entries:
            text = str(entry.key)
            if text not in seen:
                seen.add(text)
                keys.append(entry.key)
        return keys

    def recipient_strings(self) -> list[str]:
        return [str(key) for key in self.recipients()]

    def add(self, name: str, key_str: str) -> KeyringEntry:
        """Add a responder and save.

        `name` is stripped of surrounding spaces and must then follow FORMAT.md
        §8.1 (see `name_problem`). Raises KeyringError for a bad name, a bad key
        or a duplicate; nothing is written then.
        """
        name = name.strip()
        problem = name_problem(name)
        if problem is not None:
            raise KeyringError(problem)
        key = _parse_key(name, key_str)
        for entry in self._entries:
            if entry.name == name:
                raise KeyringError(f"a responder named {name!r} is already in the keyring")
            if str(entry.key) == str(key):
                raise KeyringError(f"this key is already in the keyring as {entry.name!r}")
        entry = KeyringEntry(name, key)
        self._entries.append(entry)
        self.save()
        return entry

    def remove(self, name_or_fingerprint: str) -> KeyringEntry:
        """Remove the entry with this name or fingerprint (spaces optional) and save.

        Raises KeyringError if nothing matches.
        """
        wanted = _normalise_fingerprint(name_or_fingerprint)
        for index, entry in enumerate(self._entries):
            if entry.name == name_or_fingerprint or (
                _normalise_fingerprint(entry.fingerprint) == wanted
            ):
                del self._entries[index]
                self.save()
                return entry
        raise KeyringError(f"no responder named or with fingerprint {name_or_fingerprint!r}")

    def save(self) -> None:
        """Write the keyring atomically (temp file, fsync, rename, fsync dir)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        payload = json.dumps(
            [{"name": e.name, "key": str(e.key)} for e in self._entries], indent=2
        )
        temp = self.path.parent / f".keyring-{secrets.token_hex(8)}.tmp"
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(payload + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, self.path)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        dir_fd = os.open(self.path.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
