"""`dropbox restore` failing on what it cannot use: a message, not a traceback.

A database it cannot reach, and a backup whose keyring.json is not UTF-8 or is
nested deeper than Python's recursion limit (anyone with the public keys can
seal a backup). Nothing is written in either case.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dropbox.config import Config
from tests.backup_support import run_cli
from tests.instance_builder import Instance
from tests.integration.backup_restore.conftest import (  # noqa: F401 - fixtures
    identity_file,
    postgres_target,
    source,
    target_url,
)
from tests.integration.backup_restore.test_backup_refusals import (
    _assert_refused,
    _info,
    _sealed_tar,
)

# Nothing listens on port 1 of the loopback: the connection is refused at once.
UNREACHABLE = "postgresql+psycopg://drop@127.0.0.1:1/drop"


def test_an_unreachable_database_is_a_clear_refusal(tmp_path: Path) -> None:
    target = tmp_path / "target" / "instance"
    Config.for_instance(target, {"DROPBOX_RUNTIME_DIR": str(tmp_path / "target" / "run")})
    backup, identity = tmp_path / "drop.backup", tmp_path / "identity.key"
    backup.write_bytes(b"not opened: the database is checked first")
    identity.write_bytes(b"not read either")
    result = run_cli(target, "restore", "--from", str(backup), "--identity", str(identity),
                     database_url=UNREACHABLE)
    assert result.exit_code == 1, result.output
    assert "nothing was restored" in result.output
    assert "database" in result.output
    assert not [p.name for p in target.iterdir() if p.name.startswith(".restore-")]


HOSTILE_KEYRINGS = {"not-utf8": b"\xff\xfe[]", "nested": b"[" * 100_000}


@pytest.mark.parametrize("case", sorted(HOSTILE_KEYRINGS))
def test_a_hostile_keyring_is_refused_not_a_traceback(
        case: str, source: Instance, identity_file: Path,  # noqa: F811
        tmp_path: Path, target_url: str | None) -> None:  # noqa: F811
    header = b'{"drop_backup_db": 1, "envelope_seq_high_water": 0}\n'
    members = [(_info("keyring.json"), HOSTILE_KEYRINGS[case]),
               (_info("database.jsonl"), header)]
    backup = _sealed_tar(members, source.identity.public, tmp_path / f"{case}.backup")
    _assert_refused(tmp_path, backup, identity_file, "keyring", target_url)
