"""A reporter's JS-off report through the reporter onion, fetched by a responder
through the client-authorised responder onion, opened on the air-gapped side."""

from __future__ import annotations

import re
from pathlib import Path

import requests
from click.testing import CliRunner

import keys
from journalist_cli.main import cli
from keys.identity_file import save_identity
from tests.journalist_support import PASSPHRASE
from tests.tor.conftest import OnionDrop, TorNetwork
from tests.unit.conftest import codename_from, csrf_from, multipart


def post_js_off_form(session: requests.Session, base: str, csrf: str, text: str) -> str:
    """Post the plain HTML report form with the CSRF token of a page loaded earlier;
    return the codename shown."""
    body, content_type = multipart([
        ("csrf_token", csrf), ("website", ""), ("category", "threats"),
        ("urgency", "emergency"), ("text", text), ("lang", ""),
        ("attachments", (b"", "", "text/plain"))])
    done = session.post(base + "/submit", data=body, headers={"Content-Type": content_type},
                        timeout=120)
    assert done.status_code == 200, done.text[:1000]
    return codename_from(done.text)


def submit_js_off(session: requests.Session, base: str, text: str) -> str:
    """Submit the plain HTML form (no JavaScript) through tor; return the codename shown."""
    form = session.get(base + "/submit", timeout=60)
    assert form.status_code == 200
    return post_js_off_form(session, base, csrf_from(form.text), text)


def test_report_travels_through_both_onions(authorised_client: OnionDrop,
                                            tor_network: TorNetwork,
                                            tor_session: requests.Session,
                                            tmp_path: Path) -> None:
    drop = authorised_client
    marker = "Through two onions MARKER-tor-4e1b"
    codename = submit_js_off(tor_session, drop.reporter_url, marker)
    assert len(codename.split()) >= 7

    airgapped, networked = tmp_path / "airgapped", tmp_path / "networked"
    airgapped.mkdir(mode=0o700)
    save_identity(drop.responder, airgapped / "identity.key", PASSPHRASE)
    online_key = keys.OnlineSigningKey.delegate(drop.responder, 2).to_secret_string()
    runner = CliRunner()
    bundle = tmp_path / "in.drop"
    fetched = runner.invoke(cli, ["fetch", "--to", str(bundle), "--server", drop.responder_url,
                                  "--socks", f"127.0.0.1:{tor_network.socks_port}"],
                            env={"JOURNALIST_HOME": str(networked),
                                 "JOURNALIST_ONLINE_KEY": online_key, "COLUMNS": "200"},
                            catch_exceptions=False)
    assert fetched.exit_code == 0, fetched.output
    assert "1 envelopes, 1 EMERGENCY" in fetched.output

    offline_env = {"JOURNALIST_HOME": str(airgapped), "JOURNALIST_PASSPHRASE": PASSPHRASE,
                   "COLUMNS": "200"}
    imported = runner.invoke(cli, ["import", str(bundle)], env=offline_env)
    assert imported.exit_code == 0, imported.output
    listing = runner.invoke(cli, ["list"], env=offline_env)
    found = re.search(r"● │ (\w{8}) +│ (\w{8})", listing.output)
    assert found is not None, listing.output
    shown = runner.invoke(cli, ["read", found.group(2)], env=offline_env)
    assert shown.exit_code == 0 and marker in shown.output
