"""A corpus of hostile transfer bundles fed to `journalist import`: each is refused with
exit 3 and leaves the workstation exactly as it was."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from journalist_cli.bundle_manifest import MAX_ITEM_BYTES, MAX_MANIFEST_BYTES
from tests.journalist_support import (
    Workstation,
    files_under,
    item,
    make_workstation,
    new_id,
    raw_bundle,
)

BLOB = b"ciphertext-bytes" * 100


def _good() -> list[tuple[dict[str, object], bytes]]:
    return [(item(BLOB), BLOB)]


HOSTILE: dict[str, Callable[[], bytes]] = {
    "traversal_id": lambda: raw_bundle([(item(BLOB, id="../../../../../tmp/evil-000000000"),
                                         BLOB)]),
    "traversal_parent": lambda: raw_bundle([(item(BLOB, parent_id="/etc/passwd"), BLOB)]),
    "absolute_id": lambda: raw_bundle([(item(BLOB, id="/" + "a" * 31), BLOB)]),
    "oversize_item": lambda: raw_bundle([(item(BLOB, size=MAX_ITEM_BYTES + 1), BLOB)]),
    "oversize_total": lambda: raw_bundle([(item(b"", size=MAX_ITEM_BYTES), b"")] * 65),
    "size_larger_than_blob": lambda: raw_bundle([(item(BLOB, size=len(BLOB) + 1), BLOB)]),
    "truncated": lambda: raw_bundle(_good())[:-10],
    "truncated_in_manifest": lambda: raw_bundle(_good())[:30],
    "duplicate_ids": lambda: (lambda e: raw_bundle([(e, BLOB), (dict(e), BLOB)]))(item(BLOB)),
    "wrong_magic": lambda: raw_bundle(_good(), magic=b"DROPBNDX"),
    "wrong_version": lambda: raw_bundle(_good(), version=2),
    "wrong_kind": lambda: raw_bundle(_good(), kind=7),
    "reply_bundle": lambda: raw_bundle([], kind=2),
    "trailing_bytes": lambda: raw_bundle(_good(), trailing=b"\x00"),
    "manifest_too_large": lambda: raw_bundle(_good(), declared_length=MAX_MANIFEST_BYTES + 1),
    "manifest_length_zero": lambda: raw_bundle(_good(), declared_length=0),
    "bad_json": lambda: raw_bundle([], manifest=b"{not json"),
    "not_utf8": lambda: raw_bundle([], manifest=b'{"\xff":1}'),
    "nan": lambda: raw_bundle([], manifest=b'{"created_day":NaN}'),
    "manifest_is_list": lambda: raw_bundle([], manifest=b"[]"),
    "hash_mismatch": lambda: raw_bundle([(item(BLOB), BLOB[:-1] + b"X")]),
    "empty_file": lambda: b"",
}


@pytest.fixture
def workstation(tmp_path: Path) -> Workstation:
    station = make_workstation(tmp_path)
    # An inbox that already holds one envelope, so "nothing written" covers a live inbox.
    first = tmp_path / "first.drop"
    first.write_bytes(raw_bundle(_good()))
    assert station.run("import", str(first)).exit_code == 0
    return station


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_bundle_is_refused_and_nothing_is_written(
        workstation: Workstation, tmp_path: Path, name: str) -> None:
    bundle = tmp_path / f"{name}.drop"
    bundle.write_bytes(HOSTILE[name]())
    before = files_under(workstation.home)
    index = (workstation.home / "inbox" / "index.json").read_bytes()
    result = workstation.run("import", str(bundle))
    assert result.exit_code == 3, result.output
    assert "journalist: error:" in result.output
    assert files_under(workstation.home) == before
    assert (workstation.home / "inbox" / "index.json").read_bytes() == index
    assert not list(Path("/tmp").glob("evil-0*"))


def test_symlinked_envelopes_dir_is_refused(workstation: Workstation, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    envelopes = workstation.home / "inbox" / "envelopes"
    envelopes.rename(tmp_path / "moved")
    envelopes.symlink_to(outside)
    bundle = tmp_path / "good.drop"
    bundle.write_bytes(raw_bundle(_good()))
    result = workstation.run("import", str(bundle))
    assert result.exit_code == 3
    assert "not a plain directory" in result.output
    assert list(outside.iterdir()) == []


def test_symlinked_inbox_is_refused(tmp_path: Path) -> None:
    station = make_workstation(tmp_path)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (station.home / "inbox").symlink_to(outside)
    bundle = tmp_path / "good.drop"
    bundle.write_bytes(raw_bundle(_good()))
    assert station.run("import", str(bundle)).exit_code == 3
    assert list(outside.iterdir()) == []


def test_planted_link_at_an_envelope_path_is_replaced_not_followed(
        workstation: Workstation, tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    entry = item(BLOB, id=new_id())
    (workstation.home / "inbox" / "envelopes" / entry["id"]).symlink_to(victim)
    bundle = tmp_path / "good.drop"
    bundle.write_bytes(raw_bundle([(entry, BLOB)]))
    assert workstation.run("import", str(bundle)).exit_code == 0
    assert victim.read_text() == "precious"
    stored = workstation.home / "inbox" / "envelopes" / entry["id"]
    assert not stored.is_symlink() and stored.read_bytes() == BLOB


def test_reimporting_the_same_bundle_adds_nothing(workstation: Workstation,
                                                  tmp_path: Path) -> None:
    bundle = tmp_path / "again.drop"
    bundle.write_bytes(raw_bundle(_good()))
    first = workstation.run("import", str(bundle))
    assert "imported 1 new" in first.output
    second = workstation.run("import", str(bundle))
    assert second.exit_code == 0 and "imported 0 new envelopes (1 already here)" in second.output


def test_same_id_with_different_contents_is_refused(workstation: Workstation,
                                                    tmp_path: Path) -> None:
    entry = item(BLOB)
    good = tmp_path / "a.drop"
    good.write_bytes(raw_bundle([(entry, BLOB)]))
    assert workstation.run("import", str(good)).exit_code == 0
    forged_blob = b"forged" * 10
    forged = tmp_path / "b.drop"
    forged.write_bytes(raw_bundle([(item(forged_blob, id=entry["id"]), forged_blob)]))
    result = workstation.run("import", str(forged))
    assert result.exit_code == 3 and "different contents" in result.output


def test_staging_is_removed_when_a_streamed_bundle_fails(tmp_path: Path) -> None:
    """Through a pipe the length pre-check cannot run: the streaming checks must clean up."""
    station = make_workstation(tmp_path)
    read_end, write_end = os.pipe()
    data = raw_bundle([(item(BLOB), BLOB), (item(BLOB), BLOB[:-1] + b"!")])
    with os.fdopen(write_end, "wb") as writer:
        writer.write(data)
    with os.fdopen(read_end, "rb") as reader:
        from journalist_cli.errors import BundleError
        from journalist_cli.inbox import Inbox
        from journalist_cli.workstation import Workstation as Layout
        with Inbox(Layout(station.home)) as inbox, \
                pytest.raises(BundleError, match="does not match its SHA-256"):
            inbox.import_bundle(reader)
    assert files_under(station.home / "inbox") == ["envelopes"]
