"""`journalist save` of several attachments: all of them verified, or none saved.

A tampered second attachment used to leave the first one in DIR and exit 4 with
only the tamper message, so the responder did not know a file had been written.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import pytest

import keys
from journalist_cli import commands_save
from keys.atomic_file import publish as real_publish
from tests.journalist_support import (
    Workstation,
    item,
    raw_bundle,
    report_envelope,
    seal,
)


def _import_report(station: Workstation, tmp_path: Path,
                   files: list[tuple[str, bytes]]) -> str:
    """Import a report with `files` as attachments (a blob may be tampered: it is stored
    as given and referenced by its own hash). Returns the report's id."""
    refs = tuple(keys.AttachmentRef(name, max(len(blob) - 100, 1), "image/jpeg",
                                    hashlib.sha256(blob).hexdigest()) for name, blob in files)
    report = report_envelope(station.identity.public, "photos",
                             keys.ReplyKeyPair.generate().public, attachments=refs)
    parent = item(report)
    entries = [(parent, report)] + [
        (item(blob, kind="attachment", reporter_id=parent["reporter_id"],
              parent_id=parent["id"]), blob) for _, blob in files]
    bundle = tmp_path / "in.drop"
    bundle.write_bytes(raw_bundle(entries))
    assert station.run("import", str(bundle)).exit_code == 0
    return str(parent["id"])


def _tampered(blob: bytes) -> bytes:
    damaged = bytearray(blob)
    damaged[-5] ^= 1
    return bytes(damaged)


def test_a_tampered_attachment_means_none_is_saved(station: Workstation,
                                                   tmp_path: Path) -> None:
    me = station.identity.public
    report_id = _import_report(station, tmp_path, [
        ("a.jpg", seal(b"first photo", [me])),
        ("b.jpg", _tampered(seal(b"second photo", [me]))),
        ("c.jpg", seal(b"third photo", [me]))])
    out = tmp_path / "case"
    out.mkdir()
    result = station.run("save", report_id[:8], "--to", str(out))
    assert result.exit_code == 4
    assert "b.jpg" in result.output and "Nothing was saved" in result.output
    assert sorted(os.listdir(out)) == []  # no file, and no hidden staging file either


def test_every_attachment_is_saved_when_all_verify(station: Workstation,
                                                   tmp_path: Path) -> None:
    me = station.identity.public
    report_id = _import_report(station, tmp_path, [
        ("a.jpg", seal(b"first photo", [me])), ("a.jpg", seal(b"same name", [me]))])
    out = tmp_path / "case"
    out.mkdir()
    result = station.run("save", report_id[:8], "--to", str(out))
    assert result.exit_code == 0
    assert sorted(os.listdir(out)) == ["a (1).jpg", "a.jpg"]
    assert {(out / n).read_bytes() for n in os.listdir(out)} == {b"first photo", b"same name"}


def test_a_failure_while_publishing_names_what_was_saved(
        station: Workstation, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    me = station.identity.public
    report_id = _import_report(station, tmp_path, [
        ("a.jpg", seal(b"first photo", [me])), ("b.jpg", seal(b"second photo", [me]))])
    out = tmp_path / "case"
    out.mkdir()

    def disk_full_on_b(temp: Path, target: Path, *, overwrite: bool) -> None:
        if target.name == "b.jpg":
            raise OSError(28, "No space left on device")
        real_publish(temp, target, overwrite=overwrite)

    monkeypatch.setattr(commands_save, "publish", disk_full_on_b)
    result = station.run("save", report_id[:8], "--to", str(out))
    assert result.exit_code == 1
    assert "could not save b.jpg" in result.output
    assert "Already saved in" in result.output and "a.jpg" in result.output
    assert sorted(os.listdir(out)) == ["a.jpg"]  # the staged b.jpg was removed


def test_a_write_failure_while_decrypting_saves_nothing(
        station: Workstation, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    me = station.identity.public
    report_id = _import_report(station, tmp_path, [
        ("a.jpg", seal(b"first photo", [me])), ("b.jpg", seal(b"second photo", [me]))])
    out = tmp_path / "case"
    out.mkdir()
    real_decrypt = keys.decrypt_to_path
    calls: list[Path] = []

    def disk_full_on_second(src: Any, path: Path, identity: Any, **kw: Any) -> None:
        calls.append(path)
        if len(calls) == 2:
            raise OSError(28, "No space left on device", str(path))
        real_decrypt(src, path, identity, **kw)

    monkeypatch.setattr(keys, "decrypt_to_path", disk_full_on_second)
    result = station.run("save", report_id[:8], "--to", str(out))
    assert result.exit_code == 1
    assert "could not write b.jpg" in result.output and "Nothing was saved" in result.output
    assert os.listdir(out) == []
