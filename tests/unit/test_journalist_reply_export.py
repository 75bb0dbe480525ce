"""`journalist export`: writing reply bundles onto real USB-stick filesystems, and
keeping deletion requests until a fetched bundle shows them done."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import keys
from journalist_cli.bundle_io import read_manifest
from journalist_cli.bundle_manifest import KIND_REPLY, Manifest
from journalist_cli.inbox import Inbox
from journalist_cli.workstation import Workstation as Station
from tests.fat_volume import mounted_fat32
from tests.journalist_support import (
    Workstation,
    item,
    new_id,
    raw_bundle,
    report_envelope,
)


@pytest.fixture
def fat_stick(tmp_path: Path) -> Iterator[Path]:
    """A real FAT32 filesystem (fusefat), mounted for the test: no hard links, no chmod."""
    with mounted_fat32(tmp_path) as mountpoint:
        yield mountpoint


def _import(station: Workstation, entries: list[tuple[dict[str, Any], bytes]],
            **extra: Any) -> None:
    bundle = station.home.parent / f"in-{new_id()[:8]}.drop"
    bundle.write_bytes(raw_bundle(entries, extra=extra or None))
    result = station.run("import", str(bundle))
    assert result.exit_code == 0, result.output


def _report(station: Workstation, reporter_id: str | None = None) -> dict[str, Any]:
    reporter = keys.ReplyKeyPair.generate()
    blob = report_envelope(station.identity.public, "help", reporter.public)
    fields = item(blob, reporter_id=reporter_id or new_id(), reply_key=str(reporter.public))
    _import(station, [(fields, blob)])
    return fields


def _export(station: Workstation, *flags: str) -> Manifest:
    target = station.home.parent / f"out-{new_id()[:8]}.drop"
    result = station.run("export", "--to", str(target), *flags)
    assert result.exit_code == 0, result.output
    with target.open("rb") as src:
        return read_manifest(src, KIND_REPLY)


def _queued_reply(station: Workstation) -> str:
    with Inbox(Station(station.home)) as inbox:
        (reply_id,) = [key for key, e in inbox.items.items() if e.outgoing]
    return reply_id


def test_export_to_a_fat_stick_writes_the_bundle(station: Workstation,
                                                  fat_stick: Path) -> None:
    fields = _report(station)
    assert station.run("reply", fields["reporter_id"][:8], "--text", "ok").exit_code == 0
    target = fat_stick / "out.drop"
    before = {p.name for p in fat_stick.iterdir()}  # fusefat lists the volume label
    result = station.run("export", "--to", str(target))
    assert result.exit_code == 0, result.output
    with target.open("rb") as src:
        manifest = read_manifest(src, KIND_REPLY)
    assert [i.id for i in manifest.items] == [_queued_reply(station)]
    assert {p.name for p in fat_stick.iterdir()} - before == {"out.drop"}  # no temp left
    again = station.run("export", "--to", str(target), "--again")
    assert again.exit_code == 3 and "already exists" in again.output


def test_a_lost_bundle_loses_no_deletion_request(station: Workstation) -> None:
    report, conversation = _report(station), _report(station)
    assert station.run("delete", report["id"], "--on-server").exit_code == 0
    assert station.run("delete", conversation["reporter_id"], "--conversation",
                       "--on-server").exit_code == 0
    first = _export(station)
    assert first.deletions == (report["id"],)
    assert first.reporter_deletions == (conversation["reporter_id"],)
    # The stick with that bundle is lost: nothing is pending, yet --again brings them back.
    nothing = station.run("export", "--to", str(station.home.parent / "empty.drop"))
    assert nothing.exit_code == 1 and "nothing to export" in nothing.output
    again = _export(station, "--again")
    assert again.deletions == first.deletions
    assert again.reporter_deletions == first.reporter_deletions


def test_deletions_are_forgotten_only_once_a_fetched_bundle_shows_them_gone(
        station: Workstation) -> None:
    alice, carol = new_id(), new_id()
    report = _report(station, alice)
    _report(station, carol)
    assert station.run("reply", alice, "--text", "received").exit_code == 0
    reply_id = _queued_reply(station)
    _export(station)
    _import(station, [], cursor=10, replies_on_server={alice: [reply_id]})
    for args in ((reply_id, "--on-server"), (report["id"], "--on-server"),
                 (carol, "--conversation", "--on-server")):
        assert station.run("delete", *args).exit_code == 0
    _export(station)
    everything = ({report["id"], reply_id}, {carol})

    def still_sent() -> tuple[set[str], set[str]]:
        manifest = _export(station, "--again")
        return set(manifest.deletions), set(manifest.reporter_deletions)

    # Fetched before the push: the server still lists the reply.
    _import(station, [], cursor=11, replies_on_server={alice: [reply_id]})
    assert still_sent() == everything
    # An older bundle imported late says nothing about the server of today.
    _import(station, [], cursor=5, replies_on_server={})
    assert still_sent() == everything
    # After the push: the reply is gone. Carol was never followed (no reply was ever
    # listed for her), so her absence proves nothing; and no bundle can prove a report gone.
    _import(station, [], cursor=12, replies_on_server={alice: []})
    assert still_sent() == ({report["id"]}, {carol})


def test_a_followed_reporter_account_is_forgotten_once_it_stops_being_listed(
        station: Workstation) -> None:
    bob = new_id()
    _report(station, bob)
    _import(station, [], cursor=3, replies_on_server={bob: []})
    assert station.run("delete", bob, "--conversation", "--on-server").exit_code == 0
    assert _export(station).reporter_deletions == (bob,)
    _import(station, [], cursor=4, replies_on_server={bob: []})
    assert _export(station, "--again").reporter_deletions == (bob,)
    _import(station, [], cursor=5, replies_on_server={})
    nothing = station.run("export", "--to", str(station.home.parent / "x.drop"), "--again")
    assert nothing.exit_code == 1 and "nothing to export" in nothing.output


def test_a_malformed_deletion_record_is_a_damaged_index(station: Workstation) -> None:
    _report(station)
    index = station.home / "inbox" / "index.json"
    doc = json.loads(index.read_text())
    doc["exported_deletions"] = ["not", "an", "object"]
    index.write_text(json.dumps(doc))
    result = station.run("list", "--no-decrypt")
    assert result.exit_code == 1 and "exported_deletions is malformed" in result.output
