"""The whole responder loop, across the air gap, against real HTTP.

A reporter submits through the reporter app's JS-off form; `journalist fetch`
pulls it from the responder API served over real HTTP on 127.0.0.1; `import`,
`read`, `reply` and `export` run with no network at all (in a fresh network
namespace via `unshare -n` when root, else with sockets forbidden in-process);
`push` uploads the reply; the reporter logs in with the codename and reads it;
another reporter cannot; the server holds nothing that opens it. Then the
reporter deletes the reply and the next fetch tells the responder so.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn
from unittest import mock

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select
from werkzeug.serving import make_server

import keys
from dropbox.app import create_app
from dropbox.config import Config
from dropbox.db import Envelope
from dropbox.keyring import Keyring
from dropbox.responder_app import create_responder_app
from dropbox.services import services
from journalist_cli.errors import NetworkError
from journalist_cli.main import cli
from tests.backends import Backend
from tests.journalist_support import PASSPHRASE
from tests.plaintext_scan import assert_no_plaintext
from tests.unit.conftest import codename_from, csrf_from, csrf_token, post_multipart

JOURNALIST = Path(sys.executable).parent / "journalist"


def _can_unshare() -> bool:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return False
    return subprocess.run(["unshare", "-n", "true"], check=False).returncode == 0


@dataclass
class Loop:
    root: Path
    config: Config
    reporter: Any
    api_url: str
    offline_env: dict[str, str]
    online_env: dict[str, str]
    backend: Backend

    def online(self, *args: str) -> Result:
        return CliRunner().invoke(cli, list(args), env=self.online_env, catch_exceptions=False)

    def offline(self, *args: str, stdin: str | None = None) -> tuple[int, str]:
        """Run an air-gapped command: in a namespace with no network, if we can make one."""
        if _can_unshare():
            done = subprocess.run(["unshare", "-n", str(JOURNALIST), *args], input=stdin,
                                  capture_output=True, text=True, check=False, timeout=120,
                                  env={**os.environ, **self.offline_env})
            return done.returncode, done.stdout + done.stderr
        with mock.patch.object(socket, "socket", _no_network), \
                mock.patch.object(socket, "create_connection", _no_network):
            result = CliRunner().invoke(cli, list(args), env=self.offline_env, input=stdin,
                                        catch_exceptions=False)
        return result.exit_code, result.output


def _no_network(*_args: object, **_kwargs: object) -> NoReturn:
    raise AssertionError("an air-gapped command tried to open a socket")


# The whole loop runs on both stores the drop supports (issue: PostgreSQL as a
# first-class store): SQLite in the instance dir and a real PostgreSQL server.
@pytest.fixture
def loop(backend: Backend, tmp_path: Path) -> Iterator[Loop]:
    settings = {"DROPBOX_RUNTIME_DIR": str(tmp_path / "runtime"), **backend.env()}
    config = Config.for_instance(tmp_path / "instance", settings).replace(testing=True)
    offline_env = {"JOURNALIST_HOME": str(tmp_path / "airgapped"),
                   "JOURNALIST_PASSPHRASE": PASSPHRASE, "COLUMNS": "200"}
    made = CliRunner().invoke(cli, ["keygen"], env=offline_env)
    assert made.exit_code == 0, made.output
    Keyring.load(config.keyring_path).add("sam", made.output.splitlines()[1])
    online_key = CliRunner().invoke(cli, ["export-online-key", "--days", "2"], env=offline_env)
    server = make_server("127.0.0.1", 0, create_responder_app(config), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    api_url = f"http://127.0.0.1:{server.server_port}"
    online_env = {"JOURNALIST_HOME": str(tmp_path / "networked"), "JOURNALIST_SERVER": api_url,
                  "JOURNALIST_ONLINE_KEY": online_key.stdout.strip(), "COLUMNS": "200"}
    reporter = create_app(config)
    yield Loop(tmp_path, config, reporter, api_url, offline_env, online_env, backend)
    server.shutdown()
    thread.join()
    services(reporter).database.engine.dispose()
    server.app.extensions["drop_responder"].database.engine.dispose()


def _submit(loop: Loop, text: str, urgency: str = "normal") -> str:
    client = loop.reporter.test_client()
    response = post_multipart(client, "/submit", [
        ("csrf_token", csrf_token(client)), ("website", ""), ("category", "threats"),
        ("urgency", urgency), ("text", text), ("lang", ""),
        ("attachments", (b"", "", "text/plain"))])
    assert response.status_code == 200, response.get_data(as_text=True)
    return codename_from(response.get_data(as_text=True))


def _login(loop: Loop, codename: str) -> tuple[Any, str]:
    client = loop.reporter.test_client()
    response = client.post("/login", data={"csrf_token": csrf_token(client, "/login"),
                                           "codename": codename})
    assert response.status_code == 200
    return client, response.get_data(as_text=True)


def test_report_reply_round_trip_across_the_air_gap(loop: Loop) -> None:
    report_text = "They followed me home. MARKER-report-51f0"
    codename = _submit(loop, report_text, urgency="emergency")
    other_codename = _submit(loop, "an unrelated report")

    status = loop.online("status")
    assert status.exit_code == 0 and "2 new messages" in status.output
    assert "1 EMERGENCY" in status.output
    inbound = loop.root / "usb-in-1.drop"
    fetched = loop.online("fetch", "--to", str(inbound))
    assert fetched.exit_code == 0, fetched.output
    assert "2 envelopes, 1 EMERGENCY" in fetched.output
    assert "0 new messages" in loop.online("status").output

    code, output = loop.offline("import", str(inbound))
    assert code == 0, output
    assert "EMERGENCY" in output
    assert "not in your team list" not in output  # our own key is known without a passphrase
    code, listing = loop.offline("list")
    assert code == 0 and "UNREAD EMERGENCY" in listing
    assert listing.index("MARKER-report") < listing.index("an unrelated report")
    report_id = re.search(r"● │ (\w{8}) +│ (\w{8})", listing)
    assert report_id is not None
    conversation, message = report_id.group(1), report_id.group(2)
    code, shown = loop.offline("read", message)
    assert code == 0 and report_text in shown

    reply_text = "We are with you. Call MARKER-reply-7c2d if you can."
    code, output = loop.offline("reply", conversation, "--from", "Sam", stdin=reply_text)
    assert code == 0, output
    outbound = loop.root / "usb-out.drop"
    code, output = loop.offline("export", "--to", str(outbound))
    assert code == 0, output
    pushed = loop.online("push", str(outbound))
    assert pushed.exit_code == 0, pushed.output
    assert "accepted" in pushed.output

    client, inbox_html = _login(loop, codename)
    assert reply_text in inbox_html
    _, other_html = _login(loop, other_codename)
    assert reply_text not in other_html and "MARKER-reply" not in other_html
    _server_cannot_read(loop, reply_text, report_text)

    # The next fetch brings the reply back as sent and still on the server...
    second = loop.root / "usb-in-2.drop"
    assert loop.online("fetch", "--to", str(second)).exit_code == 0
    assert loop.offline("import", str(second))[0] == 0
    code, sent = loop.offline("sent", conversation)
    assert code == 0 and "yes, not yet deleted by the reporter" in sent
    # ...and once the reporter deletes it, the one after says so.
    reply_id = re.search(r'data-reply-id="([0-9a-f]{32})"', inbox_html)
    assert reply_id is not None
    token = csrf_from(client.get("/inbox").get_data(as_text=True))
    assert client.post(f"/reply/{reply_id.group(1)}/delete",
                       data={"csrf_token": token}).status_code == 303
    third = loop.root / "usb-in-3.drop"
    assert loop.online("fetch", "--to", str(third)).exit_code == 0
    assert loop.offline("import", str(third))[0] == 0
    assert "gone (deleted by the reporter)" in loop.offline("sent", conversation)[1]

    # Deletions on the workstation with --on-server travel out with the next push:
    # one message here, the other reporter's whole account there.
    with services(loop.reporter).database.session() as session:
        reports = session.scalars(select(Envelope).where(Envelope.kind == "report")).all()
    [other] = [r for r in reports if not r.id.startswith(message)]
    assert loop.offline("delete", message, "--on-server")[0] == 0
    code, output = loop.offline("delete", other.id, "--conversation", "--on-server")
    assert code == 0 and "conversation" in output
    cleanup = loop.root / "usb-out-2.drop"
    code, output = loop.offline("export", "--to", str(cleanup))
    assert code == 0 and "2 deletion request(s)" in output
    pushed = loop.online("push", str(cleanup))
    assert pushed.exit_code == 0 and pushed.output.count("deleted") == 2, pushed.output
    with services(loop.reporter).database.session() as session:
        assert session.scalars(select(Envelope.id).where(Envelope.kind == "report")).all() == []
    other_client = loop.reporter.test_client()
    response = other_client.post("/login", data={
        "csrf_token": csrf_token(other_client, "/login"), "codename": other_codename})
    assert "MARKER" not in response.get_data(as_text=True)
    assert other_client.get("/inbox").status_code != 200  # the account is gone


def _server_cannot_read(loop: Loop, *plaintexts: str) -> None:
    """No plaintext at rest on the server, and no key there opens the reply."""
    dumps = loop.backend.at_rest_paths(loop.root / "dumps")
    assert_no_plaintext([loop.config.instance_dir, *dumps], *plaintexts)
    envelopes = loop.config.instance_dir / "envelopes"
    stranger = keys.ResponderIdentity.generate()
    for path in envelopes.iterdir():
        with path.open("rb") as src, pytest.raises(keys.NoIdentityMatch):
            keys.decrypt(src, io.BytesIO(), stranger)


def test_fetch_resumes_after_an_interrupted_download(loop: Loop,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    for n in range(3):
        _submit(loop, f"report {n}")
    from journalist_cli import online_client

    real_download = online_client.ApiClient.download
    calls: list[str] = []

    def flaky(self: Any, item_id: str, *args: Any) -> str | None:
        calls.append(item_id)
        if len(calls) == 3:
            raise NetworkError("connection lost")
        return real_download(self, item_id, *args)

    monkeypatch.setattr(online_client.ApiClient, "download", flaky)
    target = loop.root / "resumed.drop"
    first = loop.online("fetch", "--to", str(target))
    assert first.exit_code == 5 and not target.exists()
    staged = sorted(p.name for p in (loop.root / "networked" / "online" / "staging").iterdir())
    assert staged == sorted(calls[:2])
    calls.clear()
    second = loop.online("fetch", "--to", str(target))
    assert second.exit_code == 0 and "3 envelopes" in second.output
    assert calls == [i for i in calls if i not in staged] and len(calls) == 1
    code, output = loop.offline("import", str(target))
    assert code == 0 and "imported 3 new" in output


def test_a_wrong_online_key_is_an_auth_error(loop: Loop) -> None:
    stranger = keys.OnlineSigningKey.delegate(keys.ResponderIdentity.generate(), 1)
    loop.online_env["JOURNALIST_ONLINE_KEY"] = stranger.to_secret_string()
    result = loop.online("status")
    assert result.exit_code == 4 and "refused our signature" in result.output


def test_an_unreachable_server_is_a_network_error(loop: Loop) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    loop.online_env["JOURNALIST_SERVER"] = f"http://127.0.0.1:{port}"
    result = loop.online("status")
    assert result.exit_code == 5 and "could not reach" in result.output
