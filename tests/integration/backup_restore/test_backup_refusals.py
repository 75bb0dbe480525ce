"""`dropbox restore` refusing a backup or a target, on real SQLite and PostgreSQL.

Damaged, truncated, wrongly addressed and hostile backups (links, escaping
paths, duplicate or unexpected entries, rows without their envelope files, bad
instance files, data after the archive) must be refused with a message that
names the problem and nothing written: no file in the target instance, no row
in the target database. A restore into an instance that is not empty is
refused before it reads the backup.
"""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect

import keys
from dropbox.config import Config
from keys.identity_file import save_identity
from tests.backup_support import restore, rows, run_cli
from tests.instance_builder import Instance
from tests.journalist_support import PASSPHRASE, files_under


def _assert_refused(tmp_path: Path, backup: Path, identity: Path, expected: str,
                    target_url: str | None) -> None:
    target = tmp_path / "victim" / "instance"
    Config.for_instance(target, {"DROPBOX_RUNTIME_DIR": str(tmp_path / "victim" / "run")})
    before = files_under(target)
    _, result = restore(tmp_path, backup, identity, name="victim", database_url=target_url)
    assert result.exit_code == 1
    assert "nothing was restored" in result.output
    assert expected in result.output
    assert files_under(target) == before
    if target_url is not None:
        engine = create_engine(target_url)
        try:
            tables = inspect(engine).get_table_names()
        finally:
            engine.dispose()
        if "reporters" in tables:
            assert rows(target_url) == {"reporters": [], "envelopes": [], "api_nonces": []}


def _sealed_tar(members: list[tuple[tarfile.TarInfo, bytes]],
                recipient: keys.ResponderPublicKey, path: Path, trailing: bytes = b"") -> Path:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for info, data in members:
            info.size = len(data) if info.isreg() else 0
            tar.addfile(info, io.BytesIO(data) if info.isreg() else None)
    with path.open("wb") as out:
        keys.encrypt(io.BytesIO(raw.getvalue() + trailing), out, [recipient])
    return path


def _info(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, link
    return info


HOSTILE = {
    "dot-dot": ([_info("../escaped")], "unexpected entry"),
    "absolute": ([_info("/tmp/escaped")], "unexpected entry"),
    "symlink": ([_info("keyring.json", tarfile.SYMTYPE, "/etc/passwd")], "not a regular file"),
    "hardlink": ([_info("envelopes/" + "a" * 32, tarfile.LNKTYPE, "keyring.json")],
                 "not a regular file"),
    "unexpected": ([_info("secret-key")], "unexpected entry"),
    "directory": ([_info("envelopes", tarfile.DIRTYPE)], "not a regular file"),
    "duplicate": ([_info("instance-salt"), _info("instance-salt")], "twice"),
}


@pytest.mark.parametrize("damage", ["flip", "truncate"])
def test_damaged_backup_restores_nothing(backup_file: Path, identity_file: Path,
                                         tmp_path: Path, damage: str,
                                         target_url: str | None) -> None:
    data = bytearray(backup_file.read_bytes())
    if damage == "flip":
        data[len(data) // 2] ^= 0x01
    else:
        del data[-1000:]
    backup_file.write_bytes(bytes(data))
    _assert_refused(tmp_path, backup_file, identity_file, "damaged", target_url)


def test_wrong_passphrase_restores_nothing(backup_file: Path, identity_file: Path,
                                           tmp_path: Path, target_url: str | None) -> None:
    other = tmp_path / "other.key"
    save_identity(keys.ResponderIdentity.generate(), other, PASSPHRASE)
    _assert_refused(tmp_path, backup_file, other, "not encrypted to your key", target_url)


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_archive_restores_nothing(case: str, source: Instance, identity_file: Path,
                                          tmp_path: Path, target_url: str | None) -> None:
    infos, expected = HOSTILE[case]
    members = [(info, b"\0" * 16) for info in infos]
    backup = _sealed_tar(members, source.identity.public, tmp_path / f"{case}.backup")
    _assert_refused(tmp_path, backup, identity_file, expected, target_url)


def test_rows_without_files_restore_nothing(source: Instance, identity_file: Path,
                                            tmp_path: Path, target_url: str | None) -> None:
    header = b'{"drop_backup_db": 1, "envelope_seq_high_water": 1}\n'
    reporter = {"id": "b" * 32, "login_hash": "c" * 64,
                "reply_key": str(keys.ReplyKeyPair.generate().public),
                "created_day": "2026-11-01", "last_active_day": "2026-11-01"}
    envelope = {"seq": 1, "id": "d" * 32, "reporter_id": "b" * 32, "kind": "report",
                "parent_id": None, "size": 10, "day": "2026-11-01", "emergency": False,
                "signature": None, "responder": None}
    lines = header + b"".join(json.dumps({"t": t, "r": r}).encode() + b"\n"
                              for t, r in (("reporters", reporter), ("envelopes", envelope)))
    instance = source.config.instance_dir
    backup = _sealed_tar([(_info("keyring.json"), (instance / "keyring.json").read_bytes()),
                          (_info("instance-salt"), (instance / "instance-salt").read_bytes()),
                          (_info("database.jsonl"), lines)],
                         source.identity.public, tmp_path / "no-files.backup")
    _assert_refused(tmp_path, backup, identity_file, "do not match its database", target_url)


def test_refuses_a_non_empty_instance(source: Instance, backup_file: Path,
                                      identity_file: Path) -> None:
    before = rows(source.config.database_url)
    result = run_cli(source.config.instance_dir, "restore", "--from", str(backup_file),
                     "--identity", str(identity_file), database_url=source.backend.url)
    assert result.exit_code == 1
    assert "not empty" in result.output
    assert rows(source.config.database_url) == before


@pytest.mark.parametrize(("case", "expected"), [
    ("no-keyring", "holds no keyring"),
    ("short-salt", "not 16 bytes"),
    ("long-line", "line 1: the line is too long"),
    ("bad-row", "line 2: a day must be YYYY-MM-DD"),
])
def test_hostile_instance_files_and_rows_restore_nothing(
    case: str, expected: str, source: Instance, identity_file: Path, tmp_path: Path,
    target_url: str | None
) -> None:
    instance = source.config.instance_dir
    header = b'{"drop_backup_db": 1, "envelope_seq_high_water": 0}\n'
    reporter = {"id": "b" * 32, "login_hash": "c" * 64,
                "reply_key": str(keys.ReplyKeyPair.generate().public),
                "created_day": "2026-11-01", "last_active_day": "yesterday"}
    database = {"long-line": b" " * 70_000 + header,
                "bad-row": header + json.dumps({"t": "reporters", "r": reporter}).encode()
                }.get(case, header)
    members = [(_info("keyring.json"), (instance / "keyring.json").read_bytes()),
               (_info("instance-salt"), b"short" if case == "short-salt" else b"s" * 16),
               (_info("database.jsonl"), database)]
    if case == "no-keyring":
        members = members[1:]
    backup = _sealed_tar(members, source.identity.public, tmp_path / f"{case}.backup")
    _assert_refused(tmp_path, backup, identity_file, expected, target_url)


def test_data_after_the_archive_restores_nothing(source: Instance, identity_file: Path,
                                                 tmp_path: Path, target_url: str | None) -> None:
    instance = source.config.instance_dir
    members = [(_info("keyring.json"), (instance / "keyring.json").read_bytes())]
    backup = _sealed_tar(members, source.identity.public, tmp_path / "trailing.backup",
                         trailing=b"smuggled")
    _assert_refused(tmp_path, backup, identity_file, "data after the end", target_url)
