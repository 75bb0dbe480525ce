"""The networked half of `journalist`: never an identity, signed requests, Tor via socks5h."""

from __future__ import annotations

import ast
import select
import socket
import socketserver
import struct
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest
from click.testing import CliRunner
from werkzeug.serving import make_server

import keys
from journalist_cli.main import cli
from tests.journalist_support import ApiEnv, make_api_env

ONLINE_MODULES = ("commands_online.py", "commands_status.py", "online_client.py",
                  "online_context.py", "api_answers.py")
IDENTITY_NAMES = {"ResponderIdentity", "load_identity", "open_identity", "identity_file",
                  "ask_passphrase", "commands_identity"}


@pytest.mark.parametrize("name", ONLINE_MODULES)
def test_online_modules_never_touch_an_identity(name: str) -> None:
    path = Path(__file__).resolve().parents[2] / "journalist_cli" / name
    tree = ast.parse(path.read_text(encoding="utf-8"))
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    used |= {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            used |= {node.module or ""} | {alias.name for alias in node.names}
            used |= set((node.module or "").split("."))
    assert not used & IDENTITY_NAMES, f"{name} names {used & IDENTITY_NAMES}"


def _env(tmp_path: Path, server: str, key: keys.OnlineSigningKey) -> dict[str, str]:
    return {"JOURNALIST_HOME": str(tmp_path / "networked"), "JOURNALIST_SERVER": server,
            "JOURNALIST_ONLINE_KEY": key.to_secret_string()}


def test_without_an_online_key_the_hint_says_where_it_comes_from(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["status"], env={"JOURNALIST_HOME": str(tmp_path),
                                                      "JOURNALIST_ONLINE_KEY": ""})
    assert result.exit_code == 1 and "export-online-key" in result.output


def test_a_server_address_that_is_not_http_is_bad_input(tmp_path: Path) -> None:
    key = keys.OnlineSigningKey.delegate(keys.ResponderIdentity.generate(), 1)
    result = CliRunner().invoke(cli, ["status"], env=_env(tmp_path, "file:///etc/passwd", key))
    assert result.exit_code == 3 and "not a server address" in result.output


class _Socks5(socketserver.BaseRequestHandler):
    """Just enough SOCKS5 (no auth, CONNECT) to see what the client asks for."""

    seen: ClassVar[list[tuple[int, bytes]]] = []
    target_port: ClassVar[int] = 0

    def handle(self) -> None:
        conn = self.request
        conn.recv(2 + conn.recv(2, socket.MSG_PEEK)[1])
        conn.sendall(b"\x05\x00")
        _version, _cmd, _rsv, address_type = conn.recv(4)
        if address_type == 3:
            address = conn.recv(conn.recv(1)[0])
        else:
            address = conn.recv(4 if address_type == 1 else 16)
        conn.recv(2)
        self.seen.append((address_type, address))
        upstream = socket.create_connection(("127.0.0.1", self.target_port))
        conn.sendall(b"\x05\x00\x00\x01" + socket.inet_aton("127.0.0.1") + struct.pack(">H", 0))
        with upstream:
            sockets = [conn, upstream]
            while True:
                readable, _, _ = select.select(sockets, [], [], 10)
                if not readable:
                    return
                for source in readable:
                    data = source.recv(65536)
                    if not data:
                        return
                    (upstream if source is conn else conn).sendall(data)


@pytest.fixture
def served_api(tmp_path: Path) -> Iterator[tuple[ApiEnv, int]]:
    api = make_api_env(tmp_path)
    server = make_server("127.0.0.1", 0, api.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield api, server.server_port
    server.shutdown()
    thread.join()


def test_socks_option_resolves_the_name_in_the_proxy(served_api: tuple[ApiEnv, int],
                                                     tmp_path: Path) -> None:
    api, port = served_api
    reporter = api.add_reporter()
    api.add_envelope(reporter, b"x", emergency=True)
    _Socks5.seen, _Socks5.target_port = [], port
    proxy = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Socks5)
    proxy.daemon_threads = True
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    try:
        onion = "drop" + "a" * 52 + ".onion"
        result = CliRunner().invoke(cli, ["status", "--socks",
                                          f"127.0.0.1:{proxy.server_address[1]}"],
                                    env=_env(tmp_path, f"http://{onion}", api.online_key))
    finally:
        proxy.shutdown()
        proxy.server_close()
        thread.join()
    assert result.exit_code == 0, result.output
    assert "1 new messages" in result.output and "1 EMERGENCY" in result.output
    assert _Socks5.seen == [(3, onion.encode())]  # a name, never resolved locally


def _all_commands() -> list[list[str]]:
    import click

    paths: list[list[str]] = []

    def walk(group: click.Group, prefix: list[str]) -> None:
        for name, command in group.commands.items():
            if isinstance(command, click.Group):
                walk(command, [*prefix, name])
            paths.append([*prefix, name])

    walk(cli, [])
    return paths


@pytest.mark.parametrize("path", _all_commands(), ids=" ".join)
def test_every_command_help_has_a_worked_example(path: list[str]) -> None:
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0
    assert "Example" in result.output and "$ journalist" in result.output


def test_top_level_help_lists_the_exit_codes() -> None:
    output = CliRunner().invoke(cli, ["--help"]).output
    for line in ("0  success", "2  usage", "3  bad input", "4  crypto", "5  network"):
        assert line in output


def test_status_watch_reports_changes_and_stops_on_ctrl_c(
        served_api: tuple[ApiEnv, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    api, port = served_api
    reporter = api.add_reporter()
    rounds: list[int] = []

    def next_round(seconds: float) -> None:
        rounds.append(int(seconds))
        if len(rounds) == 1:
            api.add_envelope(reporter, b"new", emergency=True)
        elif len(rounds) == 3:
            raise KeyboardInterrupt

    monkeypatch.setattr(time, "sleep", next_round)
    result = CliRunner().invoke(cli, ["status", "--watch", "30"],
                                env=_env(tmp_path, f"http://127.0.0.1:{port}", api.online_key))
    assert result.exit_code == 0, result.output
    assert rounds == [30, 30, 30]
    assert result.output.count("new messages") == 2  # printed on change only
    assert "0 new messages" in result.output and "1 EMERGENCY" in result.output


def test_the_online_half_does_not_even_import_identity_code() -> None:
    import subprocess
    import sys

    probe = ("import sys, journalist_cli.commands_online; "
             "print(sorted(m for m in sys.modules if m in ('keys.identity_file', "
             "'journalist_cli.commands_identity')))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True, timeout=60)
    assert done.stdout.strip() == "[]"
