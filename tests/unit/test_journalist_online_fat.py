"""`fetch --to` a FAT32 USB stick, the daily workflow's `/media/usb/in.drop`.

FAT has no hard links and no permissions, so the bundle must be published
without link() or chmod, and still never overwrite a file and never leave a
partial one. The volume is real (tests/fat_volume.py), the API is the real
responder app on 127.0.0.1.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from werkzeug.serving import make_server

from journalist_cli.main import cli
from tests.fat_volume import mounted_fat32
from tests.journalist_support import ApiEnv, make_api_env, read_bundle_blobs


@pytest.fixture
def usb(tmp_path: Path) -> Iterator[Path]:
    with mounted_fat32(tmp_path) as mountpoint:
        yield mountpoint


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[ApiEnv, str]]:
    api = make_api_env(tmp_path)
    server = make_server("127.0.0.1", 0, api.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield api, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


def fetch(tmp_path: Path, served: tuple[ApiEnv, str], target: Path) -> Result:
    api, url = served
    return CliRunner().invoke(cli, ["fetch", "--to", str(target)], env={
        "JOURNALIST_HOME": str(tmp_path / "networked"), "JOURNALIST_SERVER": url,
        "JOURNALIST_ONLINE_KEY": api.online_key.to_secret_string(), "JOURNALIST_SOCKS": None})


def test_the_stick_really_has_no_hard_links(usb: Path) -> None:
    (usb / "a").write_bytes(b"a")
    with pytest.raises(PermissionError):
        (usb / "b").hardlink_to(usb / "a")


def test_fetch_writes_the_bundle_to_a_fat_stick(tmp_path: Path, usb: Path,
                                                served: tuple[ApiEnv, str]) -> None:
    api, _ = served
    envelope_id = api.add_envelope(api.add_reporter(), b"sealed bytes", emergency=True)
    result = fetch(tmp_path, served, usb / "in.drop")
    assert result.exit_code == 0, result.output
    assert "1 envelopes, 1 EMERGENCY" in result.output
    assert read_bundle_blobs((usb / "in.drop").read_bytes()) == {envelope_id: b"sealed bytes"}
    assert sorted(p.name for p in usb.iterdir()) == ["in.drop"]  # no temp file left
    # the cursor moved on: the next bundle holds nothing again
    assert "0 envelopes" in fetch(tmp_path, served, usb / "next.drop").output


def test_fetch_never_overwrites_a_bundle_on_a_fat_stick(tmp_path: Path, usb: Path,
                                                        served: tuple[ApiEnv, str]) -> None:
    api, _ = served
    api.add_envelope(api.add_reporter(), b"sealed bytes")
    (usb / "in.drop").write_bytes(b"yesterday's bundle")
    result = fetch(tmp_path, served, usb / "in.drop")
    assert result.exit_code == 3, result.output
    assert (usb / "in.drop").read_bytes() == b"yesterday's bundle"
    assert sorted(p.name for p in usb.iterdir()) == ["in.drop"]
