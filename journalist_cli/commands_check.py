"""Air-gapped: `check`, the inbox's files against its index, without the passphrase.

An import moves envelope files in before it rewrites the index (the commit
point), so a killed import leaves ciphertext that no index entry names. Such
files are never removed on their own: with a lost or damaged index every
envelope would look like one. `check` lists them (and anything else that
disagrees with the index) and removes them only when asked, only when the
index was read, and never an indexed file or anything that is not a regular
file or a staging directory of ours.
"""

from __future__ import annotations

import enum
import hashlib
import os
import shutil
import stat
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import click
from rich.console import Console

from journalist_cli.bundle_manifest import ID_RE
from journalist_cli.errors import InboxDamagedError
from journalist_cli.inbox import STAGING_PREFIX, Inbox, open_inbox
from journalist_cli.offline_guard import offline
from journalist_cli.progress import byte_progress
from journalist_cli.safe_text import escape_terminal
from journalist_cli.workstation import Workstation, overwrite_and_unlink

_CHUNK = 64 * 1024


class Problem(enum.Enum):
    """A kind of finding; the value is the label printed at the start of its line."""

    INDEX = "index"
    MISSING = "missing"
    CHANGED = "changed"
    UNINDEXED = "unindexed"
    LEFTOVER = "leftover"
    UNEXPECTED = "unexpected"


_HINTS = {
    Problem.INDEX: "restore inbox/index.json from a backup; check removes nothing meanwhile",
    Problem.MISSING: "`journalist delete ID` drops a missing or changed envelope from the "
                     "index; importing the bundle that brought it then restores it",
    Problem.UNINDEXED: "`journalist check --remove-unindexed` removes unindexed files and "
                       "leftovers (importing the interrupted bundle again also adopts them)",
    Problem.UNEXPECTED: "look at the unexpected entries yourself: check never follows or "
                        "removes them",
}
_HINTS[Problem.CHANGED] = _HINTS[Problem.MISSING]
_HINTS[Problem.LEFTOVER] = _HINTS[Problem.UNINDEXED]


@dataclass(frozen=True)
class Finding:
    """One thing wrong; `removable` is set only for what `--remove-unindexed` may remove."""

    problem: Problem
    where: str
    detail: str
    removable: Path | None = None

    def line(self) -> str:
        where = escape_terminal(self.where, keep_newlines=False)
        return f"{self.problem.value:<10} {where}: {self.detail}"


def _kind_of(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "a symbolic link (not followed)"
    if stat.S_ISDIR(mode):
        return "a directory"
    return "not a regular file"


def _measure(path: Path) -> tuple[int, str] | str:
    """(size, SHA-256 hex) of the regular file at `path`, or why it could not be read.

    Never follows a link and never blocks on a FIFO (O_NONBLOCK).
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        return exc.strerror or str(exc)
    with os.fdopen(fd, "rb") as handle:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            return _kind_of(mode)
        digest = hashlib.sha256()
        size = 0
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
        return size, digest.hexdigest()


def _plain_directory(path: Path) -> bool | None:
    """True for a real directory, False for anything else (a link...), None if absent."""
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except FileNotFoundError:
        return None


def _check_indexed(inbox: Inbox, console: Console) -> Iterator[Finding]:
    total = sum(e.item.size for e in inbox.items.values() if isinstance(e.item.size, int))
    with byte_progress(console) as progress:
        task = progress.add_task("checking", total=total)
        for key, entry in sorted(inbox.items.items()):
            if not ID_RE.fullmatch(key) or entry.item.id != key:
                yield Finding(Problem.INDEX, key, "the index names an invalid envelope id")
                continue
            try:
                mode = os.lstat(inbox.envelopes_dir / key).st_mode
            except FileNotFoundError:
                yield Finding(Problem.MISSING, key, f"{entry.item.kind} of {entry.item.day}: "
                                                    "in the index, but its file is gone")
                continue
            if not stat.S_ISREG(mode):
                yield Finding(Problem.CHANGED, key, f"{_kind_of(mode)} where its file should be")
                continue
            measured = _measure(inbox.envelopes_dir / key)
            if isinstance(measured, str):
                yield Finding(Problem.CHANGED, key, f"cannot be checked: {measured}")
                continue
            size, digest = measured
            progress.advance(task, size)
            if size != entry.item.size:
                yield Finding(Problem.CHANGED, key,
                              f"{size} bytes on disk, the index says {entry.item.size}")
            elif digest != entry.item.sha256:
                yield Finding(Problem.CHANGED, key,
                              "its SHA-256 differs from the index (damaged on disk?)")


def _check_unindexed(inbox: Inbox, indexed: set[str]) -> Iterator[Finding]:
    with os.scandir(inbox.envelopes_dir) as scan:
        entries = sorted(scan, key=lambda e: e.name)
    for entry in entries:
        if entry.name in indexed:
            continue
        where = f"envelopes/{entry.name}"
        mode = entry.stat(follow_symlinks=False).st_mode
        if not stat.S_ISREG(mode):
            yield Finding(Problem.UNEXPECTED, where, _kind_of(mode))
        elif not ID_RE.fullmatch(entry.name):
            yield Finding(Problem.UNEXPECTED, where, "a name that is not an envelope id")
        elif inbox.index_error is not None:
            yield Finding(Problem.UNINDEXED, entry.name, "cannot be checked without the index")
        else:
            size = entry.stat(follow_symlinks=False).st_size
            yield Finding(Problem.UNINDEXED, entry.name,
                          f"{size} bytes the index does not name (an interrupted import?)",
                          removable=Path(entry.path))


def _check_leftovers(inbox: Inbox) -> Iterator[Finding]:
    for path in inbox.leftovers():
        mode = os.lstat(path).st_mode
        if stat.S_ISDIR(mode) and path.name.startswith(STAGING_PREFIX):
            yield Finding(Problem.LEFTOVER, f"{path.name}/",
                          "a staging directory left by an interrupted import", removable=path)
        elif stat.S_ISREG(mode):
            yield Finding(Problem.LEFTOVER, path.name,
                          "a temporary file left by an interrupted command", removable=path)
        else:
            yield Finding(Problem.UNEXPECTED, path.name, _kind_of(mode))


def find_problems(inbox: Inbox, console: Console) -> list[Finding]:
    """Everything in the inbox that disagrees with its index. Reads, never writes."""
    findings: list[Finding] = []
    if _plain_directory(inbox.root) is False:
        return [Finding(Problem.UNEXPECTED, "inbox",
                        "not a plain directory (a link?): not looked into")]
    envelopes_dir = _plain_directory(inbox.envelopes_dir)
    if inbox.index_error is not None:
        findings.append(Finding(Problem.INDEX, "index.json", str(inbox.index_error)))
    if envelopes_dir is False:
        findings.append(Finding(Problem.UNEXPECTED, "envelopes",
                                "not a plain directory (a link?): not looked into"))
    elif inbox.index_error is None:
        findings.extend(_check_indexed(inbox, console))
    if envelopes_dir:
        indexed = set(inbox.items) if inbox.index_error is None else set()
        findings.extend(_check_unindexed(inbox, indexed))
    if _plain_directory(inbox.root):
        findings.extend(_check_leftovers(inbox))
    return findings


def _refuse_blind_removal(inbox: Inbox, removable: list[Finding]) -> None:
    if inbox.index_error is not None:
        raise InboxDamagedError(
            "the inbox index could not be read, so every envelope would look unindexed: "
            "nothing was removed", hint=_HINTS[Problem.INDEX])
    if removable and not os.path.lexists(inbox.index_path) and any(
            f.problem is Problem.UNINDEXED for f in removable):
        raise InboxDamagedError(
            "there is no inbox index, so every envelope looks unindexed: nothing was removed",
            hint="if an import was killed before its first commit, import the same bundle "
                 "again; if the index was lost, restore it from a backup")


def _remove(finding: Finding, inbox: Inbox) -> None:
    path = finding.removable
    if path is None or inbox.index_error is not None or path.name in inbox.items:
        # Unreachable by construction; a removal must never depend on that alone.
        raise InboxDamagedError(f"refusing to remove {path}: it may be indexed")
    if finding.problem is Problem.LEFTOVER and _plain_directory(path):
        with os.scandir(path) as scan:
            for entry in scan:
                if entry.is_file(follow_symlinks=False):
                    overwrite_and_unlink(Path(entry.path))
        shutil.rmtree(path)  # what is left (links, odd entries) is removed, never followed
    else:
        overwrite_and_unlink(path)


def _stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


@click.command(epilog="""\b
Example:
  $ journalist check
  unindexed  3f2a...: 48213 bytes the index does not name (an interrupted import?)
  checked 120 indexed envelopes: 1 problem
  $ journalist check --remove-unindexed
\b
Exit codes: 0 the inbox matches its index (or every problem was removed);
3 problems remain (each printed on its own line).""")
@click.option("--remove-unindexed", is_flag=True,
              help="Remove unindexed envelope files and leftovers of interrupted commands "
                   "(overwritten first). Never touches indexed envelopes.")
@click.option("--yes", is_flag=True, help="Do not ask before removing.")
@click.pass_obj
@offline
def check(workstation: Workstation, remove_unindexed: bool, yes: bool) -> None:
    """Check that the inbox's files match its index (no passphrase needed).

    Reports envelopes that are missing or changed, files the index does not
    name (left by an interrupted import), anything else in envelopes/ (links
    are never followed) and leftovers of interrupted commands.
    """
    if remove_unindexed and not yes and not _stdin_is_terminal():
        raise click.UsageError("--remove-unindexed asks before removing: add --yes when "
                               "not running in a terminal")
    inbox = open_inbox(workstation, damaged_index_ok=True)
    findings = find_problems(inbox, Console(stderr=True))
    for finding in findings:
        click.echo(finding.line())
    removable = [f for f in findings if f.removable is not None]
    if remove_unindexed:
        _refuse_blind_removal(inbox, removable)
        if removable and (yes or click.confirm(f"remove these {len(removable)}?")):
            for finding in removable:
                _remove(finding, inbox)
            click.echo(f"removed {len(removable)} unindexed file(s) and leftover(s)")
            findings = [f for f in findings if f.removable is None]
        elif removable:
            click.echo("nothing was removed")
    checked = 0 if inbox.index_error is not None else len(inbox.items)
    count = len(findings)
    click.echo(f"checked {checked} indexed envelopes: "
               + (f"{count} problem{'s' if count != 1 else ''}" if count else "all sound"))
    if findings:
        hints = dict.fromkeys(_HINTS[f.problem] for f in findings)
        raise InboxDamagedError(f"the inbox has {count} problem{'s' if count != 1 else ''}",
                                hint="; ".join(hints))


COMMANDS = (check,)
