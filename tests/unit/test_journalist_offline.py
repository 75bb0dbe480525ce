"""The air-gapped half of `journalist`: keys, import, list, read, save, reply, export, sent."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import socket
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import keys
from journalist_cli.bundle_io import copy_blobs, read_manifest
from journalist_cli.bundle_manifest import KIND_REPLY
from journalist_cli.main import cli
from tests.journalist_support import (
    PASSPHRASE,
    Workstation,
    item,
    png_with_author,
    raw_bundle,
    report_envelope,
    seal,
)


def _import(station: Workstation, tmp_path: Path,
            entries: list[tuple[dict[str, object], bytes]]) -> None:
    bundle = tmp_path / f"b{len(list(tmp_path.iterdir()))}.drop"
    bundle.write_bytes(raw_bundle(entries))
    result = station.run("import", str(bundle))
    assert result.exit_code == 0, result.output


def test_keygen_then_export_pubkey_and_online_key(tmp_path: Path) -> None:
    env = {"JOURNALIST_HOME": str(tmp_path / "ws"), "JOURNALIST_PASSPHRASE": PASSPHRASE}
    runner = CliRunner()
    made = runner.invoke(cli, ["keygen"], env=env)
    assert made.exit_code == 0, made.output
    public = keys.ResponderPublicKey.parse(made.output.splitlines()[1])
    assert runner.invoke(cli, ["keygen"], env=env).exit_code == 3  # never overwritten
    exported = runner.invoke(cli, ["export-pubkey"], env=env)
    assert exported.stdout.strip() == str(public)
    online = runner.invoke(cli, ["export-online-key", "--days", "5"], env=env)
    key = keys.OnlineSigningKey.from_secret_string(online.stdout.strip())
    assert key.certificate.verify([public], key.certificate.expiry) == public
    wrong = runner.invoke(cli, ["export-pubkey"],
                          env={**env, "JOURNALIST_PASSPHRASE": "not the passphrase"})
    assert wrong.exit_code == 4 and "journalist: error:" in wrong.output


def test_keygen_refuses_a_short_passphrase(tmp_path: Path) -> None:
    env = {"JOURNALIST_HOME": str(tmp_path / "ws"), "JOURNALIST_PASSPHRASE": "short"}
    result = CliRunner().invoke(cli, ["keygen"], env=env)
    assert result.exit_code == 3 and "at least 12" in result.output
    assert not (tmp_path / "ws" / "identity.key").exists()


def test_list_puts_emergencies_first_and_read_escapes_control_characters(
        station: Workstation, tmp_path: Path) -> None:
    pair = keys.ReplyKeyPair.generate()
    me = station.identity.public
    calm = report_envelope(me, "a calm report", pair.public)
    hostile_text = "line one\x1b]0;pwned\x07 and \x1b[2J [bold]markup[/bold] \u202eevil"
    urgent = report_envelope(me, hostile_text, keys.ReplyKeyPair.generate().public,
                             urgency="emergency")
    urgent_item = item(urgent, emergency=True, day="2026-11-01")
    _import(station, tmp_path, [(item(calm, day="2026-11-20"), calm), (urgent_item, urgent)])
    listing = station.run("list").output
    assert "UNREAD EMERGENCY" in listing
    assert listing.index("line one") < listing.index("a calm report")
    assert "\x1b" not in listing and "\x07" not in listing and "\u202e" not in listing
    assert "[bold]markup[/bold]" in listing  # shown as typed, never interpreted
    shown = station.run("read", str(urgent_item["id"])[:8]).output
    assert "\\x1b]0;pwned\\x07" in shown and "\\x1b[2J" in shown and "\\u202e" in shown
    assert "\x1b]" not in shown and "\u202e" not in shown
    assert "[bold]markup[/bold]" in shown and "EMERGENCY" in shown
    assert "●" not in next(line for line in station.run("list").output.splitlines()
                       if "line one" in line)


def test_read_of_an_envelope_for_someone_else_is_exit_4(station: Workstation,
                                                       tmp_path: Path) -> None:
    other = keys.ResponderIdentity.generate().public
    envelope = report_envelope(other, "not for you", keys.ReplyKeyPair.generate().public)
    entry = item(envelope)
    _import(station, tmp_path, [(entry, envelope)])
    result = station.run("read", str(entry["id"]))
    assert result.exit_code == 4 and "hint:" in result.output


def test_save_writes_safe_names_and_never_overwrites(station: Workstation,
                                                     tmp_path: Path) -> None:
    me = station.identity.public
    files = {"../../.bashrc": b"echo owned", "CON.txt": b"device", "photo.jpg": b"\xff\xd8jpeg"}
    attachment_blobs = {name: seal(data, [me]) for name, data in files.items()}
    refs = tuple(keys.AttachmentRef(name.split("/")[-1] if name.startswith("..") else name,
                                    len(files[name]), "application/octet-stream",
                                    hashlib.sha256(blob).hexdigest())
                 for name, blob in attachment_blobs.items())
    report = report_envelope(me, "see files", keys.ReplyKeyPair.generate().public,
                             attachments=refs)
    report_item = item(report)
    entries = [(report_item, report)] + [
        (item(blob, kind="attachment", reporter_id=report_item["reporter_id"],
              parent_id=report_item["id"]), blob) for blob in attachment_blobs.values()]
    _import(station, tmp_path, entries)
    out = tmp_path / "out"
    out.mkdir()
    (out / "photo.jpg").write_bytes(b"already here")
    result = station.run("save", str(report_item["id"]), "--to", str(out))
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["_CON.txt", "bashrc", "photo (1).jpg",
                                                     "photo.jpg"]
    assert (out / "photo.jpg").read_bytes() == b"already here"
    assert (out / "photo (1).jpg").read_bytes() == b"\xff\xd8jpeg"
    assert (out / "bashrc").read_bytes() == b"echo owned"
    assert not (tmp_path / ".bashrc").exists()


def test_reply_export_produces_a_signed_reply_the_reporter_can_open(
        station: Workstation, tmp_path: Path) -> None:
    pair = keys.ReplyKeyPair.generate()
    colleague = keys.ResponderIdentity.generate()
    report = report_envelope(station.identity.public, "help", pair.public)
    entry = item(report, reply_key=str(pair.public))
    _import(station, tmp_path, [(entry, report)])
    assert station.run("team", "add", "robin", str(colleague.public)).exit_code == 0
    written = station.run("reply", str(entry["reporter_id"])[:8], "--from", "Sam",
                          input="We hear you.\n")
    assert written.exit_code == 0, written.output
    bundle = tmp_path / "out.drop"
    exported = station.run("export", "--to", str(bundle))
    assert exported.exit_code == 0 and "exported 1 replies" in exported.output
    with bundle.open("rb") as src:
        manifest = read_manifest(src, KIND_REPLY)
        blobs: dict[str, io.BytesIO] = {}
        copy_blobs(src, manifest, lambda i: blobs.setdefault(i.id, io.BytesIO()))
    (reply_item,) = manifest.items
    envelope = blobs[reply_item.id].getvalue()
    keys.verify_reply(station.identity.public, pair.public, hashlib.sha256(envelope).digest(),
                      base64.b64decode(reply_item.signature or ""))
    for reader in (pair, colleague, station.identity):
        plain = io.BytesIO()
        keys.decrypt(io.BytesIO(envelope), plain, reader)
        message = keys.decode_message(plain.getvalue())
        assert isinstance(message, keys.Reply) and message.text == "We hear you."
    assert station.run("export", "--to", str(tmp_path / "again.drop")).exit_code == 1
    sent = station.run("sent", str(entry["reporter_id"])).output
    assert reply_item.id[:8] in sent and "not seen on the server yet" in sent


def test_reply_refuses_when_server_listed_key_differs_from_the_report(
        station: Workstation, tmp_path: Path) -> None:
    real, swapped = keys.ReplyKeyPair.generate(), keys.ReplyKeyPair.generate()
    report = report_envelope(station.identity.public, "help", real.public)
    entry = item(report, reply_key=str(swapped.public))
    _import(station, tmp_path, [(entry, report)])
    result = station.run("reply", str(entry["reporter_id"]), "--text", "hi")
    assert result.exit_code == 4 and "does not match" in result.output


def test_offline_commands_cannot_open_a_socket(station: Workstation, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    import journalist_cli.commands_inbox as commands_inbox

    def phone_home(*_args: object) -> list[object]:
        socket.create_connection(("127.0.0.1", 9))
        return []

    _import(station, tmp_path, [(item(b"x"), b"x")])
    monkeypatch.setattr(commands_inbox, "load_rows", phone_home)
    result = station.run("list", "--no-decrypt")
    assert result.exit_code == 1 and "must not use the network" in result.output
    probe = socket.socket()  # the guard is lifted after the command
    probe.close()


def test_delete_removes_the_envelope_and_its_attachments(station: Workstation,
                                                          tmp_path: Path) -> None:
    report = report_envelope(station.identity.public, "x", keys.ReplyKeyPair.generate().public)
    parent = item(report)
    child = item(b"att", kind="attachment", parent_id=parent["id"])
    _import(station, tmp_path, [(parent, report), (child, b"att")])
    result = station.run("delete", str(parent["id"]), "--on-server")
    assert result.exit_code == 0 and "1 attachment" in result.output
    assert list((station.home / "inbox" / "envelopes").iterdir()) == []
    assert station.run("read", str(parent["id"])).exit_code == 3


def _import_report_with_file(station: Workstation, tmp_path: Path, name: str,
                             data: bytes) -> str:
    me = station.identity.public
    blob = seal(data, [me])
    ref = keys.AttachmentRef(name, len(data), "image/png", hashlib.sha256(blob).hexdigest())
    report = report_envelope(me, "a photo", keys.ReplyKeyPair.generate().public,
                             attachments=(ref,))
    parent = item(report)
    _import(station, tmp_path, [(parent, report), (item(blob, kind="attachment",
                                                        parent_id=parent["id"]), blob)])
    return str(parent["id"])


def test_save_strip_metadata_removes_it_with_mat2(station: Workstation, tmp_path: Path) -> None:
    import shutil

    assert shutil.which("mat2"), "mat2 is a Debian dependency of the workstation (make sysdeps)"
    report_id = _import_report_with_file(station, tmp_path, "me.png",
                                         png_with_author(b"AUTHOR-NAME-41"))
    out = tmp_path / "clean"
    out.mkdir()
    result = station.run("save", report_id, "--to", str(out), "--strip-metadata")
    assert result.exit_code == 0 and "metadata removed" in result.output
    saved = (out / "me.png").read_bytes()
    assert saved.startswith(b"\x89PNG") and b"AUTHOR-NAME-41" not in saved


def test_save_strip_metadata_without_mat2_says_so_and_writes_nothing(
        station: Workstation, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    report_id = _import_report_with_file(station, tmp_path, "me.png", png_with_author(b"x"))
    monkeypatch.setattr(shutil, "which", lambda _name: None)
    out = tmp_path / "clean"
    out.mkdir()
    result = station.run("save", report_id, "--to", str(out), "--strip-metadata")
    assert result.exit_code == 1 and "needs mat2" in result.output and "hint:" in result.output
    assert list(out.iterdir()) == []


def test_delete_conversation_on_server_goes_into_the_next_reply_bundle(
        station: Workstation, tmp_path: Path) -> None:
    reporter = "ab" * 16
    first, second = item(b"1", reporter_id=reporter), item(b"2", reporter_id=reporter)
    kept = item(b"3")
    _import(station, tmp_path, [(first, b"1"), (second, b"2"), (kept, b"3")])
    result = station.run("delete", reporter[:6], "--conversation", "--on-server")
    assert result.exit_code == 0 and "(2 envelopes)" in result.output
    assert [p.name for p in (station.home / "inbox" / "envelopes").iterdir()] == [kept["id"]]
    bundle = tmp_path / "out.drop"
    assert station.run("export", "--to", str(bundle)).exit_code == 0
    with bundle.open("rb") as src:
        manifest = read_manifest(src, KIND_REPLY)
    assert manifest.reporter_deletions == (reporter,) and manifest.items == ()


def test_two_commands_cannot_change_the_inbox_at_once(station: Workstation,
                                                      tmp_path: Path) -> None:
    from journalist_cli.inbox import Inbox
    from journalist_cli.workstation import Workstation as Layout

    _import(station, tmp_path, [(item(b"x"), b"x")])
    with Inbox(Layout(station.home)):
        busy = station.run("list", "--no-decrypt")
    assert busy.exit_code == 1 and "another journalist command" in busy.output
    assert station.run("list", "--no-decrypt").exit_code == 0  # released on close


def test_oversized_message_envelope_is_refused_before_decrypting(tmp_path: Path) -> None:
    """A hostile server labels a huge attachment as a report: read must not load it."""
    from journalist_cli.inbox_view import _MAX_MESSAGE_ENVELOPE, decrypt_message

    class _Item:
        id = "a" * 32
        kind = "report"

    class _Entry:
        item = _Item()

    class _Inbox:
        def open_envelope(self, item_id: str) -> Any:
            path = tmp_path / item_id
            with open(path, "wb") as f:
                f.truncate(_MAX_MESSAGE_ENVELOPE + 1)
            return open(path, "rb")

    identity = keys.ResponderIdentity.generate()
    with pytest.raises(keys.MessageError, match="too large"):
        decrypt_message(_Inbox(), _Entry(), identity)  # type: ignore[arg-type]


def _import_then_plant_fifo(station: Workstation, tmp_path: Path) -> tuple[str, Path]:
    """Import one report, then put a FIFO where its envelope file was: (id, path)."""
    envelope = report_envelope(station.identity.public, "hello",
                               keys.ReplyKeyPair.generate().public)
    entry = item(envelope)
    _import(station, tmp_path, [(entry, envelope)])
    path = station.home / "inbox" / "envelopes" / str(entry["id"])
    path.unlink()
    os.mkfifo(path)
    return str(entry["id"]), path


@pytest.mark.timeout(60)  # without O_NONBLOCK, opening the FIFO waits for a writer forever
def test_read_of_a_fifo_planted_as_an_envelope_is_refused_not_hung(station: Workstation,
                                                                   tmp_path: Path) -> None:
    item_id, _path = _import_then_plant_fifo(station, tmp_path)
    result = station.run("read", item_id)
    assert result.exit_code == 3 and "not a regular file" in result.output


@pytest.mark.timeout(60)  # opening a FIFO for writing without a reader would block forever
def test_delete_of_an_envelope_replaced_by_a_fifo_removes_it_without_hanging(
        station: Workstation, tmp_path: Path) -> None:
    item_id, path = _import_then_plant_fifo(station, tmp_path)
    result = station.run("delete", item_id)
    assert result.exit_code == 0, result.output
    assert not os.path.lexists(path)
