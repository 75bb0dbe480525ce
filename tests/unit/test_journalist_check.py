"""`journalist check`: the inbox's files against its index, and `--remove-unindexed`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import journalist_cli.commands_check as check_module
from tests.journalist_support import (
    Workstation,
    files_under,
    new_id,
    write_report_bundle,
)

# Runs `journalist import` in a child that is SIGKILLed as it starts the index
# write: the commit point of an import, after the envelope files were moved in.
_KILLED_AT_COMMIT = """
import os, signal, sys
import journalist_cli.inbox as inbox_module
from journalist_cli.main import cli
write_json = inbox_module.write_json
def die_at_commit(path, value, *, compact=False):
    if path.name == "index.json":
        os.kill(os.getpid(), signal.SIGKILL)
    write_json(path, value, compact=compact)
inbox_module.write_json = die_at_commit
cli(["import", sys.argv[1]], prog_name="journalist")
"""


def _imported(station: Workstation, tmp_path: Path, texts: list[str]) -> tuple[Path, list[str]]:
    bundle, ids = write_report_bundle(station, tmp_path / f"{new_id()}.drop", texts)
    result = station.run("import", str(bundle))
    assert result.exit_code == 0, result.output
    return bundle, ids


def _envelopes(station: Workstation) -> Path:
    return station.home / "inbox" / "envelopes"


def _lines(output: str, label: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith(f"{label} ")]


def test_a_sound_inbox_is_exit_0(station: Workstation, tmp_path: Path) -> None:
    empty = station.run("check")
    assert empty.exit_code == 0, empty.output
    _imported(station, tmp_path, ["one", "two", "three"])
    result = station.run("check")
    assert result.exit_code == 0, result.output
    assert "checked 3 indexed envelopes: all sound" in result.output
    assert "problem" not in result.output


def test_a_killed_import_is_reported_then_cleaned_up_and_imported_again(
        station: Workstation, tmp_path: Path) -> None:
    _first, kept = _imported(station, tmp_path, ["kept one", "kept two"])
    second, orphans = write_report_bundle(station, tmp_path / "second.drop", ["new one", "new two"])
    killed = subprocess.run(
        [sys.executable, "-c", _KILLED_AT_COMMIT, str(second)], env={
            **os.environ, **station.env()}, capture_output=True, check=False, timeout=120)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert {p.name for p in _envelopes(station).iterdir()} == {*kept, *orphans}
    [staging] = (station.home / "inbox").glob(".staging-*")  # the kill skipped the cleanup

    found = station.run("check")
    assert found.exit_code == 3
    assert sorted(line.split()[1].rstrip(":") for line in _lines(found.output, "unindexed")) \
        == sorted(orphans)
    assert _lines(found.output, "leftover") == [
        f"leftover   {staging.name}/: a staging directory left by an interrupted import"]
    assert "journalist: error: the inbox has 3 problems" in found.output
    assert "--remove-unindexed" in found.output

    watcher = tmp_path / "watch"  # a second name for one orphan: its bytes after removal
    os.link(_envelopes(station) / orphans[0], watcher)
    size = watcher.stat().st_size
    removed = station.run("check", "--remove-unindexed", "--yes")
    assert removed.exit_code == 0, removed.output
    assert "removed 3 unindexed file(s) and leftover(s)" in removed.output
    assert {p.name for p in _envelopes(station).iterdir()} == set(kept)
    assert not list((station.home / "inbox").glob(".staging-*"))
    assert watcher.read_bytes() == bytes(size)  # overwritten with zeros before the unlink

    assert station.run("import", str(second)).exit_code == 0
    listing = station.run("list").output
    assert all(text in listing for text in ("kept one", "kept two", "new one", "new two"))
    assert station.run("check").exit_code == 0


def test_a_missing_file_is_reported_and_delete_then_import_restores_it(
        station: Workstation, tmp_path: Path) -> None:
    bundle, ids = _imported(station, tmp_path, ["gone", "still here"])
    (_envelopes(station) / ids[0]).unlink()
    found = station.run("check")
    assert found.exit_code == 3
    assert _lines(found.output, "missing") == [
        f"missing    {ids[0]}: report of 2026-11-24: in the index, but its file is gone"]
    assert "checked 2 indexed envelopes: 1 problem" in found.output
    assert "journalist delete ID" in found.output
    still = station.run("check", "--remove-unindexed", "--yes")
    assert still.exit_code == 3 and "removed" not in still.output  # reported, not "fixed"
    assert (_envelopes(station) / ids[1]).exists()
    assert station.run("delete", ids[0]).exit_code == 0
    assert station.run("import", str(bundle)).exit_code == 0
    assert station.run("check").exit_code == 0


def test_a_changed_file_is_reported_and_left_alone(station: Workstation,
                                                   tmp_path: Path) -> None:
    _bundle_path, ids = _imported(station, tmp_path, ["flipped", "cut", "fine"])
    flipped, cut = _envelopes(station) / ids[0], _envelopes(station) / ids[1]
    data = bytearray(flipped.read_bytes())
    data[len(data) // 2] ^= 0x01
    flipped.write_bytes(bytes(data))
    cut.write_bytes(cut.read_bytes()[:-1])
    before = {p.name: p.read_bytes() for p in _envelopes(station).iterdir()}
    result = station.run("check", "--remove-unindexed", "--yes")
    assert result.exit_code == 3
    changed = _lines(result.output, "changed")
    assert f"changed    {ids[0]}: its SHA-256 differs from the index (damaged on disk?)" \
        in changed
    size = len(before[ids[1]])
    assert f"changed    {ids[1]}: {size} bytes on disk, the index says {size + 1}" in changed
    assert len(changed) == 2 and ids[2] not in result.output
    assert {p.name: p.read_bytes() for p in _envelopes(station).iterdir()} == before


@pytest.mark.timeout(60)  # a FIFO opened without O_NONBLOCK would hang here
def test_links_and_odd_entries_are_reported_never_followed_nor_removed(
        station: Workstation, tmp_path: Path) -> None:
    _bundle_path, ids = _imported(station, tmp_path, ["linked", "fifo", "fine"])
    envelopes = _envelopes(station)
    outside = tmp_path / "outside"
    outside.write_bytes((envelopes / ids[0]).read_bytes())
    (envelopes / ids[0]).unlink()
    (envelopes / ids[0]).symlink_to(outside)  # same bytes: only following it would pass
    (envelopes / ids[1]).unlink()
    os.mkfifo(envelopes / ids[1])
    stray = new_id()
    (envelopes / stray).symlink_to(outside)
    (envelopes / "notes.txt").write_text("not an envelope")
    (envelopes / new_id()).mkdir()
    before = files_under(station.home)

    result = station.run("check", "--remove-unindexed", "--yes")
    assert result.exit_code == 3
    assert f"changed    {ids[0]}: a symbolic link (not followed) where its file should be" \
        in result.output
    assert f"changed    {ids[1]}: not a regular file where its file should be" in result.output
    assert f"unexpected envelopes/{stray}: a symbolic link (not followed)" in result.output
    assert "unexpected envelopes/notes.txt: a name that is not an envelope id" in result.output
    assert len(_lines(result.output, "unexpected")) == 3
    assert "checked 3 indexed envelopes: 5 problems" in result.output
    assert files_under(station.home) == before
    assert outside.read_bytes() and (envelopes / stray).is_symlink()


@pytest.mark.parametrize("damage", ["not json", "a list", "a link", "deleted"])
def test_removal_is_refused_when_the_index_cannot_be_trusted(
        station: Workstation, tmp_path: Path, damage: str) -> None:
    _imported(station, tmp_path, ["one", "two"])
    index = station.home / "inbox" / "index.json"
    saved = tmp_path / "index-copy.json"
    saved.write_bytes(index.read_bytes())
    index.unlink()
    if damage == "not json":
        index.write_bytes(b"{\"version\": 1, \"items\": {")
    elif damage == "a list":
        index.write_text(json.dumps([1, 2]))
    elif damage == "a link":
        index.symlink_to(saved)
    before = {p: p.read_bytes() for p in (station.home / "inbox").rglob("*") if p.is_file()}
    listed = station.run("check")
    assert listed.exit_code == 3
    assert len(_lines(listed.output, "unindexed")) == 2
    refused = station.run("check", "--remove-unindexed", "--yes")
    assert refused.exit_code == 3
    assert "nothing was removed" in refused.output and "removed 2" not in refused.output
    assert {p: p.read_bytes() for p in (station.home / "inbox").rglob("*")
            if p.is_file()} == before
    if damage != "deleted":
        assert _lines(listed.output, "index")
        assert "index could not be read" in refused.output


def test_removal_asks_on_a_terminal_and_needs_yes_elsewhere(
        station: Workstation, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _imported(station, tmp_path, ["indexed"])
    leftover = station.home / "inbox" / ".reply-abc123"
    leftover.write_bytes(b"ciphertext of a reply never indexed")
    blind = station.run("check", "--remove-unindexed")
    assert blind.exit_code == 2 and "--yes" in blind.output and leftover.exists()
    monkeypatch.setattr(check_module, "_stdin_is_terminal", lambda: True)
    declined = station.run("check", "--remove-unindexed", input="n\n")
    assert declined.exit_code == 3 and "nothing was removed" in declined.output
    assert leftover.exists()
    assert _lines(declined.output, "leftover") == [
        "leftover   .reply-abc123: a temporary file left by an interrupted command"]
    accepted = station.run("check", "--remove-unindexed", input="y\n")
    assert accepted.exit_code == 0, accepted.output
    assert not leftover.exists()
    assert station.run("check").exit_code == 0


def test_check_waits_for_no_one_and_changes_nothing_while_another_command_runs(
        station: Workstation, tmp_path: Path) -> None:
    from journalist_cli.inbox import Inbox
    from journalist_cli.workstation import Workstation as Layout

    _imported(station, tmp_path, ["one"])
    (_envelopes(station) / new_id()).write_bytes(b"orphan")
    before = files_under(station.home)
    with Inbox(Layout(station.home)):
        busy = station.run("check", "--remove-unindexed", "--yes")
    assert busy.exit_code == 1 and "another journalist command" in busy.output
    assert files_under(station.home) == before


def test_an_inbox_dir_that_is_a_link_is_not_looked_into(station: Workstation,
                                                        tmp_path: Path) -> None:
    _imported(station, tmp_path, ["one"])
    moved = tmp_path / "elsewhere"
    (station.home / "inbox").rename(moved)
    (moved / "envelopes" / new_id()).write_bytes(b"orphan")
    (station.home / "inbox").symlink_to(moved)
    before = files_under(moved)
    result = station.run("check", "--remove-unindexed", "--yes")
    assert result.exit_code == 3
    assert "unexpected inbox: not a plain directory (a link?): not looked into" in result.output
    assert "unindexed" not in result.output
    assert files_under(moved) == before
