"""A canned responder API (plain http.server on 127.0.0.1) and a `journalist` runner, for
the tests of the networked commands against answers a real server would never give."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

import keys
from journalist_cli.main import cli

Answer = tuple[int, Any]  # HTTP status, then a JSON value or raw bytes


@dataclass
class CannedApi:
    """What the fake server answers (`route(method, path)`) and which paths it was asked."""

    url: str
    route: Callable[[str, str], Answer] = lambda method, path: (404, {"error": "not found"})
    paths: list[str] = field(default_factory=list)

    def asked(self, prefix: str) -> int:
        return sum(1 for path in self.paths if path.startswith(prefix))


@contextlib.contextmanager
def serving_canned_api() -> Iterator[CannedApi]:
    """A canned responder API on 127.0.0.1 for the `with` block."""
    canned = CannedApi(url="")

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            canned.paths.append(self.path)
            status, value = canned.route(self.command, self.path)
            body = value if isinstance(value, bytes) else json.dumps(value).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = _answer
        do_POST = _answer

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    canned.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield canned
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


ONLINE_KEY = keys.OnlineSigningKey.delegate(keys.ResponderIdentity.generate(), 3)


def run(tmp_path: Path, api: CannedApi, *args: str) -> Result:
    env = {"JOURNALIST_HOME": str(tmp_path / "networked"), "JOURNALIST_SERVER": api.url,
           "JOURNALIST_ONLINE_KEY": ONLINE_KEY.to_secret_string(), "JOURNALIST_SOCKS": None,
           "COLUMNS": "200"}
    return CliRunner().invoke(cli, list(args), env=env)


def assert_network_error(result: Result) -> None:
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{result.exception!r} escaped as a traceback:\n{result.output}")
    assert result.exit_code == 5, result.output
    assert "journalist: error:" in result.output
