"""The session key files (DROPBOX_SESSION_KEY_FILE and its previous key for rotation).

A missing, short, long or group/other-readable key file makes both the config
and the app refuse to start, with a message that names the problem; a previous
key needs a current one; good key files are read from the environment.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dropbox.app import create_app
from dropbox.config import Config, ConfigError
from tests.sealed_session_support import write_key


@pytest.mark.parametrize(("content", "mode", "message"), [
    (None, 0o600, "cannot read"),
    (b"x" * 31, 0o600, "holds 31 bytes"),
    (b"x" * 33, 0o600, "holds 33 bytes"),
    (b"x" * 32, 0o640, "readable by group or others"),
    (b"x" * 32, 0o604, "readable by group or others"),
])
def test_bad_key_file_refuses_to_start(tmp_path: Path, content: bytes | None, mode: int,
                                       message: str) -> None:
    key_file = tmp_path / "session-key"
    if content is not None:
        write_key(key_file, content, mode)
    env = {"DROPBOX_RUNTIME_DIR": str(tmp_path / "rt"), "DROPBOX_SESSION_KEY_FILE": str(key_file)}
    with pytest.raises(ConfigError, match=message):
        Config.for_instance(tmp_path / "instance", env)
    config = Config.for_instance(tmp_path / "instance", {"DROPBOX_RUNTIME_DIR": env[
        "DROPBOX_RUNTIME_DIR"]}).replace(session_key_file=key_file)
    with pytest.raises(ConfigError, match=message):
        create_app(config)


def test_previous_key_needs_a_current_key(tmp_path: Path) -> None:
    previous = write_key(tmp_path / "old-key")
    with pytest.raises(ConfigError, match="without DROPBOX_SESSION_KEY_FILE"):
        Config.for_instance(tmp_path / "i", {"DROPBOX_SESSION_PREVIOUS_KEY_FILE": str(previous)})


def test_good_key_files_are_read_from_the_environment(tmp_path: Path) -> None:
    current, previous = write_key(tmp_path / "key"), write_key(tmp_path / "old-key", mode=0o400)
    config = Config.for_instance(tmp_path / "i", {
        "DROPBOX_RUNTIME_DIR": str(tmp_path / "rt"),
        "DROPBOX_SESSION_KEY_FILE": str(current),
        "DROPBOX_SESSION_PREVIOUS_KEY_FILE": str(previous),
    })
    assert (config.session_key_file, config.session_previous_key_file) == (current, previous)
    assert Config.for_instance(tmp_path / "j", {}).session_key_file is None
