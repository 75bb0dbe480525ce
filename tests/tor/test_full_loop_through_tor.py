"""The whole journey, every hop through the private Tor network.

1. Two reporters submit through the reporter onion (the `browser_reports`
   fixture): Chromium with JavaScript on and a file, firefox-esr with it off.
2. A responder's networked workstation runs `journalist fetch` through the
   client-authorised responder onion; the air-gapped half (`import`, `list`,
   `read`, `reply`, `export`) runs with no network at all (a fresh network
   namespace via `unshare -n` when it can make one, else sockets forbidden
   in-process); `push` goes back through the onion.
3. Both reporters come back with their codenames, in fresh browser sessions
   through the onion, and each reads exactly the reply meant for them.
4. Nothing anyone typed, uploaded or was told is at rest on the server.

A client without the workstation key cannot reach the responder onion at all:
tests/tor/test_onion_services.py::test_responder_onion_refuses_a_client_without_the_key.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import NoReturn
from unittest import mock

from click.testing import CliRunner

import keys
from journalist_cli.main import cli
from keys.identity_file import save_identity
from tests.browser import journeys
from tests.journalist_support import PASSPHRASE
from tests.plaintext_scan import assert_no_plaintext
from tests.tor.browser_reporters import (
    BrowserReport,
    BrowserReports,
    chromium_replies,
    chromium_through_tor,
    firefox_replies,
    firefox_through_tor,
)
from tests.tor.conftest import OnionDrop, TorNetwork
from tests.tor.socks_probe import ONION_CLIENT_AUTH_MISSING
from tests.tor.test_browser_through_tor import stored_drop

JOURNALIST = Path(sys.executable).parent / "journalist"


class AirGappedWorkstation:
    """The responder's offline half: holds the identity, runs with no network."""

    def __init__(self, home: Path, identity: keys.ResponderIdentity) -> None:
        home.mkdir(mode=0o700)
        save_identity(identity, home / "identity.key", PASSPHRASE)
        self.env = {"JOURNALIST_HOME": str(home), "JOURNALIST_PASSPHRASE": PASSPHRASE,
                    "COLUMNS": "200"}
        self.isolated = _can_unshare()

    def run(self, *args: str, stdin: str | None = None) -> str:
        """Run a `journalist` command offline; return its output, fail unless it exits 0."""
        if self.isolated:
            done = subprocess.run(["unshare", "-n", str(JOURNALIST), *args], input=stdin,
                                  capture_output=True, text=True, check=False, timeout=120,
                                  env={**os.environ, **self.env})
            code, output = done.returncode, done.stdout + done.stderr
        else:
            with mock.patch.object(socket, "socket", _no_network), \
                    mock.patch.object(socket, "create_connection", _no_network):
                result = CliRunner().invoke(cli, list(args), env=self.env, input=stdin,
                                            catch_exceptions=False)
            code, output = result.exit_code, result.output
        assert code == 0, f"journalist {' '.join(args)} exited {code}:\n{output}"
        return output


def _can_unshare() -> bool:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return False
    return subprocess.run(["unshare", "-n", "true"], check=False).returncode == 0


def _no_network(*_args: object, **_kwargs: object) -> NoReturn:
    raise AssertionError("an air-gapped command tried to open a socket")


def online(network: TorNetwork, drop: OnionDrop, home: Path, online_key: str,
           *args: str) -> str:
    """Run a networked `journalist` command against the responder onion, through tor."""
    result = CliRunner().invoke(
        cli, [*args, "--server", drop.responder_url,
              "--socks", f"127.0.0.1:{network.socks_port}"],
        env={"JOURNALIST_HOME": str(home), "JOURNALIST_ONLINE_KEY": online_key,
             "COLUMNS": "200"},
        catch_exceptions=False)
    assert result.exit_code == 0, f"journalist {' '.join(args)}:\n{result.output}"
    return result.output


def message_id(listing: str, report: BrowserReport) -> str:
    """The inbox id of the row whose first line is `report.text`."""
    rows = re.findall(r"│ ([0-9a-f]{8}) +│ \d{4}-\d{2}-\d{2} .*?" + re.escape(report.text),
                      listing)
    assert len(rows) == 1, f"{report.browser}'s report is not once in the inbox:\n{listing}"
    return str(rows[0])


def test_two_browsers_and_a_responder_close_the_loop_through_onions(
        browser_reports: BrowserReports, journey_drop: OnionDrop,
        tor_network: TorNetwork, tmp_path: Path) -> None:
    drop = journey_drop
    # Before the client tor got the workstation key, this responder onion refused it.
    assert drop.unauthorised_socks_reply == ONION_CLIENT_AUTH_MISSING
    chromium, firefox = browser_reports.chromium, browser_reports.firefox
    assert chromium.attachment is not None

    networked = tmp_path / "networked"
    online_key = keys.OnlineSigningKey.delegate(drop.responder, 2).to_secret_string()
    inbound = tmp_path / "usb-in.drop"
    fetched = online(tor_network, drop, networked, online_key, "fetch", "--to", str(inbound))
    # Both reports and the file: this drop is the journey's own.
    assert "3 envelopes" in fetched, fetched

    airgapped = AirGappedWorkstation(tmp_path / "airgapped", drop.responder)
    airgapped.run("import", str(inbound))
    listing = airgapped.run("list")
    replies: dict[str, str] = {}
    for report in (chromium, firefox):
        shown = airgapped.run("read", message_id(listing, report))
        assert report.text in shown
        reply_text = journeys.new_marker(f"torreply{report.browser.replace('-', '')}")
        airgapped.run("reply", message_id(listing, report), "--from", "Tor test desk",
                      stdin=reply_text)
        replies[report.browser] = reply_text
        if report is chromium:
            # The file is listed (by the name the reporter gave it) and it arrived.
            attachments = shown[shown.index("attachments"):]
            assert chromium.attachment.name in attachments and "in inbox" in attachments
        else:
            assert "attachments" not in shown

    outbound = tmp_path / "usb-out.drop"
    airgapped.run("export", "--to", str(outbound))
    pushed = online(tor_network, drop, networked, online_key, "push", str(outbound))
    assert pushed.count("accepted") == 2 and "REJECTED" not in pushed, pushed

    # Later, in fresh browser sessions: each reporter reads only their own reply.
    with chromium_through_tor(tor_network, tmp_path / "chromium-downloads") as browser:
        assert chromium_replies(browser, drop.reporter_url, chromium.codename,
                                replies["chromium"]) == [replies["chromium"]]
    with firefox_through_tor(tor_network, tmp_path / "firefox", javascript=False) as client:
        assert firefox_replies(client, drop.reporter_url, firefox.codename) == [
            replies["firefox-esr"]]

    server = stored_drop(drop)
    server.assert_logs_anonymous()
    assert_no_plaintext(server.at_rest_paths(), *browser_reports.markers(), *replies.values())
