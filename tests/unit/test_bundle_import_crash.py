"""An import that dies at any point leaves the inbox as it was, or fully imported.

Envelope files are flushed to disk in one pass, and the index (the commit
point) is written only after that pass: these tests stop an import at each
step and check what a later command sees.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

import journalist_cli.inbox as inbox_module
import journalist_cli.workstation as workstation_module
from journalist_cli.workstation import sync_to_disk, write_json
from tests.journalist_support import (
    Workstation,
    write_report_bundle,
)


class Crash(BaseException):
    """Stands for the process dying: not an Exception, so no handler swallows it."""


def _indexed(station: Workstation) -> set[str]:
    index = station.home / "inbox" / "index.json"
    return set(json.loads(index.read_text())["items"]) if index.exists() else set()


def test_a_crash_while_moving_files_in_leaves_the_inbox_as_it_was(
        station: Workstation, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first, first_ids = write_report_bundle(station, tmp_path / "first.drop", ["old one", "old two"])
    assert station.run("import", str(first)).exit_code == 0
    second, second_ids = write_report_bundle(station, tmp_path / "second.drop",
                                 [f"new {n}" for n in range(5)])
    real_replace = os.replace
    moved: list[str] = []

    def replace_then_die(src: str, dst: str) -> None:
        if len(moved) == 3:
            raise Crash()
        real_replace(src, dst)
        moved.append(str(dst))

    monkeypatch.setattr(os, "replace", replace_then_die)
    with pytest.raises(Crash):
        station.run("import", str(second))
    monkeypatch.setattr(os, "replace", real_replace)
    assert _indexed(station) == set(first_ids)
    listing = station.run("list").output
    assert "old one" in listing and "new 0" not in listing
    assert station.run("import", str(second)).exit_code == 0
    assert _indexed(station) == set(first_ids + second_ids)


def test_files_reach_the_disk_before_the_index_names_them(
        station: Workstation, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bundle, ids = write_report_bundle(station, tmp_path / "in.drop", ["a", "b", "c"])
    envelopes = station.home / "inbox" / "envelopes"
    events: list[str] = []

    def sync(files: Iterable[Path], directory: Path) -> None:
        assert {p.name for p in envelopes.iterdir()} == set(ids)
        assert _indexed(station) == set()  # not committed yet
        events.append("sync")
        sync_to_disk(files, directory)

    def write_index(path: Path, value: Any, *, compact: bool = False) -> None:
        events.append("index")
        write_json(path, value, compact=compact)

    monkeypatch.setattr(inbox_module, "sync_to_disk", sync)
    monkeypatch.setattr(inbox_module, "write_json", write_index)
    assert station.run("import", str(bundle)).exit_code == 0
    assert events == ["sync", "index"]
    assert _indexed(station) == set(ids)


def test_files_left_by_a_crash_before_the_commit_are_invisible_and_replaced(
        station: Workstation, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bundle, ids = write_report_bundle(station, tmp_path / "in.drop",
                                      ["first report", "second report"])

    def die(*_args: object) -> None:
        raise Crash()

    monkeypatch.setattr(inbox_module, "sync_to_disk", die)
    with pytest.raises(Crash):
        station.run("import", str(bundle))
    monkeypatch.undo()
    envelopes = station.home / "inbox" / "envelopes"
    assert {p.name for p in envelopes.iterdir()} == set(ids)
    assert _indexed(station) == set()
    assert "the inbox is empty" in station.run("list").output
    # What the crash left may be torn (not yet on disk): the next import replaces it.
    (envelopes / ids[0]).write_bytes(b"torn")
    stale = station.home / "inbox" / ".staging-killed"
    stale.mkdir()
    (stale / ids[1]).write_bytes(b"half a blob")
    assert station.run("import", str(bundle)).exit_code == 0
    listing = station.run("list").output
    assert "first report" in listing and "second report" in listing
    assert "cannot open" not in listing
    assert not list((station.home / "inbox").glob(".staging-*"))


def test_a_write_error_reported_by_syncfs_fails_the_import_before_the_commit(
        station: Workstation, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bundle, _ids = write_report_bundle(station, tmp_path / "in.drop", ["a", "b"])
    calls: list[int] = []

    def failing_syncfs(fd: int) -> int:
        calls.append(fd)
        ctypes.set_errno(errno.EIO)
        return -1

    monkeypatch.setattr(workstation_module, "_libc_syncfs", lambda: failing_syncfs)
    result = station.run("import", str(bundle))
    assert calls
    assert result.exit_code != 0
    assert "the disk could not save the envelopes: Input/output error" in result.output
    assert _indexed(station) == set()


def test_on_linux_one_syncfs_makes_the_batch_durable(
        station: Workstation, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = workstation_module._libc_syncfs()
    assert real is not None, "this machine's C library has syncfs"
    bundle, ids = write_report_bundle(station, tmp_path / "in.drop", ["a", "b", "c"])
    calls: list[int] = []

    def counting_syncfs(fd: int) -> int:
        calls.append(fd)
        return real(fd)

    monkeypatch.setattr(workstation_module, "_libc_syncfs", lambda: counting_syncfs)
    assert station.run("import", str(bundle)).exit_code == 0
    assert len(calls) == 1
    assert _indexed(station) == set(ids)


def test_where_sync_may_return_early_each_file_is_fsynced(
        station: Workstation, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bundle, ids = write_report_bundle(station, tmp_path / "in.drop", ["a", "b", "c"])
    synced: list[int] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        synced.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(workstation_module, "_libc_syncfs", lambda: None)
    monkeypatch.setattr(os, "fsync", fsync)
    assert station.run("import", str(bundle)).exit_code == 0
    # three envelopes and their directory, then the index and its directory
    assert len(synced) >= len(ids) + 3
    assert _indexed(station) == set(ids)
