"""Responder names in the server's keyring follow FORMAT.md §8.1 (1-64 characters, no
control character), the rule the workstations apply to the keyring in every bundle.

One name they refuse would make every `journalist fetch` fail, so the server refuses it
when it is added and when it finds one in an existing keyring file.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import keys
from dropbox.cli import cli
from dropbox.keyring import Keyring, KeyringError, name_problem
from journalist_cli.bundle_manifest import NAME_RE

LONG_NAME = ("Robin Example-Longname, legal support coordinator for the region "
             "(nights and weekends)")

# (name, allowed by FORMAT.md §8.1)
EDGE_CASES = [
    ("sam", True),
    ("x", True),
    ("", False),
    ("a" * 64, True),
    ("a" * 65, False),
    ("é" * 64, True),                     # characters, not UTF-8 bytes, are counted
    ("🦊" * 64, True),
    ("🦊" * 65, False),
    ("e\u0301" * 32, True),               # combining marks count as characters
    ("e\u0301" * 33, False),
    ("Sam Example (legal)", True),
    (" sam ", True),
    ("tab\there", False),
    ("line\nbreak", False),
    ("nul\x00", False),
    ("\x1f", False),
    ("\x20", True),
    ("del\x7f", False),
    ("c1\x80", False),
    ("c1\x9f", False),
    ("\xa0nbsp", True),
    ("esc\x1b[2J", False),
    ("\u202eright-to-left", True),        # not a control character in §8.1's sense
    ("\u2028", True),
    (LONG_NAME, False),
]


def _format_allows(name: str) -> bool:
    return NAME_RE.fullmatch(name) is not None


@pytest.mark.parametrize(("name", "allowed"), EDGE_CASES)
def test_the_server_and_the_workstation_agree_on_names(name: str, allowed: bool) -> None:
    assert _format_allows(name) is allowed
    assert (name_problem(name) is None) is allowed


def test_an_undecodable_name_is_refused_although_the_pattern_would_take_it() -> None:
    # What `dropbox keys add $'\xff' ...` gives Python on a UTF-8 system.
    name = "sam\udcff"
    assert _format_allows(name)
    assert name_problem(name) is not None


def _key() -> str:
    return str(keys.ResponderIdentity.generate().public)


def test_add_refuses_a_name_the_workstations_would_refuse(tmp_path: Path) -> None:
    keyring = Keyring.load(tmp_path / "keyring.json")
    keyring.add("sam", _key())
    for bad in (LONG_NAME, "a" * 65, "two\nlines", "bell\x07", "   "):
        with pytest.raises(KeyringError):
            keyring.add(bad, _key())
    assert [e.name for e in Keyring.load(tmp_path / "keyring.json").entries] == ["sam"]
    keyring.add(" " + "b" * 64 + " ", _key())  # surrounding spaces are stripped first
    assert Keyring.load(tmp_path / "keyring.json").entries[1].name == "b" * 64


def test_keys_add_explains_the_limit(tmp_path: Path) -> None:
    env = {"DROPBOX_INSTANCE": str(tmp_path), "DROPBOX_RUNTIME_DIR": str(tmp_path / "run")}
    result = CliRunner().invoke(cli, ["keys", "add", LONG_NAME, _key()], env=env)
    assert result.exit_code == 1
    assert "at most 64 characters" in result.output
    assert not (tmp_path / "keyring.json").exists()


@pytest.mark.parametrize("bad", [LONG_NAME, "", "new\nline"])
def test_a_bad_name_in_an_existing_file_is_named_when_loading(tmp_path: Path,
                                                              bad: str) -> None:
    path = tmp_path / "keyring.json"
    path.write_text(json.dumps([{"name": "sam", "key": _key()}, {"name": bad, "key": _key()}]))
    with pytest.raises(KeyringError, match=r"entry 2 \(") as raised:
        Keyring.load(path)
    assert "\n" not in str(raised.value)


def test_a_bad_name_in_an_existing_file_stops_the_keys_command(tmp_path: Path) -> None:
    (tmp_path / "keyring.json").write_text(
        json.dumps([{"name": "sam", "key": _key()}, {"name": LONG_NAME, "key": _key()}]))
    env = {"DROPBOX_INSTANCE": str(tmp_path), "DROPBOX_RUNTIME_DIR": str(tmp_path / "run")}
    result = CliRunner().invoke(cli, ["keys", "list"], env=env)
    assert result.exit_code == 1
    assert "entry 2 ('Robin Example-Longname" in result.output


@pytest.mark.parametrize(("content", "message"), [
    (b"\xff\xfe not utf-8", "not UTF-8"),
    (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
])
def test_a_keyring_that_is_not_json_text_is_a_keyring_error(
        tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "keyring.json"
    path.write_bytes(content)
    with pytest.raises(KeyringError, match=message):
        Keyring.load(path)
