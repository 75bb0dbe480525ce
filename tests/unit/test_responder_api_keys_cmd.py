"""`dropbox keys add|list|remove`: the keyring the API and the reporter app read."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

import keys
from dropbox.cli import cli
from dropbox.keyring import Keyring


def test_add_list_remove_by_name_and_fingerprint(tmp_path: Path) -> None:
    env = {"DROPBOX_INSTANCE": str(tmp_path), "DROPBOX_RUNTIME_DIR": str(tmp_path / "run")}
    sam, robin = (keys.ResponderIdentity.generate().public for _ in range(2))
    runner = CliRunner()
    added = runner.invoke(cli, ["keys", "add", "sam", str(sam)], env=env)
    assert added.exit_code == 0 and sam.fingerprint in added.output
    assert runner.invoke(cli, ["keys", "add", "robin", str(robin)], env=env).exit_code == 0
    assert runner.invoke(cli, ["keys", "add", "again", str(sam)], env=env).exit_code == 1
    assert runner.invoke(cli, ["keys", "add", "bad", "drop-pub-nope"], env=env).exit_code == 1
    listing = runner.invoke(cli, ["keys", "list"], env=env).output
    assert f"sam    {sam.fingerprint}  {sam}" in listing and robin.fingerprint in listing
    removed = runner.invoke(cli, ["keys", "remove", robin.fingerprint.replace(" ", "")],
                            env=env)
    assert removed.exit_code == 0 and "robin" in removed.output
    assert runner.invoke(cli, ["keys", "remove", "sam"], env=env).exit_code == 0
    assert Keyring.load(tmp_path / "keyring.json").entries == []
    assert "empty" in runner.invoke(cli, ["keys", "list"], env=env).output
    assert runner.invoke(cli, ["keys", "remove", "nobody"], env=env).exit_code == 1
