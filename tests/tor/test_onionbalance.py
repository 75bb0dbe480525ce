"""Onionbalance in front of two backends (each its own tor and reporter app, one
shared instance and one shared session key), on a private Tor network: a report
through the frontend address; a second form loaded from the same backend; that
backend stopped; the second form posted on a new circuit, which can only reach
the survivor and succeeds there (sealed cookie sessions); a third report made
afresh; then all three fetched by a responder from the shared instance.

This module runs its own network instead of the session `tor_network`:
Onionbalance 0.2.4 (`--is-testnet`) computes time periods for a network voting
every 20 s (chutney's), tor derives them from the real interval, and the
session network votes every 10 s. Here the authority is switched to 20 s
(SETCONF) before any onion is published, so tor and Onionbalance agree, and it
has five relays (see deploy/README.md, "Several backends with Onionbalance").
"""

from __future__ import annotations

import contextlib
import functools
import re
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

import keys
from dropbox import balance
from dropbox.app_servers import RESPONDER_TARGET, start_app_server
from dropbox.testnet import TestNetwork
from dropbox.tor_process import free_ports, wait_until
from journalist_cli.main import cli
from keys.identity_file import save_identity
from tests.journalist_support import PASSPHRASE
from tests.tor.balanced_drop import (
    HSDIR_RELAYS,
    VOTING_INTERVAL,
    BalancedDrop,
    descriptor_fetchable,
    reachable_session,
    start_backend,
    vote_every,
)
from tests.tor.conftest import make_instance
from tests.tor.test_report_through_tor import post_js_off_form, submit_js_off
from tests.unit.conftest import csrf_from


@pytest.fixture(scope="module")
def balanced_drop(tmp_path_factory: pytest.TempPathFactory,
                  request: pytest.FixtureRequest) -> Iterator[BalancedDrop]:
    root = tmp_path_factory.mktemp("onionbalance")
    cache = getattr(request.config, "cache", None)
    key_cache = Path(cache.mkdir("tor-testnet-keys")) if cache is not None else None
    with contextlib.ExitStack() as stack:
        # Five relays, not four: with four HSDirs or fewer, Onionbalance 0.2.4 can spin
        # forever choosing HSDirs for its second replica (hashring.py, seen here).
        network = TestNetwork(root / "testnet", key_cache=key_cache, relays=HSDIR_RELAYS)
        info = network.start(timeout=150)
        stack.callback(network.stop)
        vote_every(network, VOTING_INTERVAL)
        client_log = root / "client-rend.log"
        client_notice = root / "testnet" / "nodes" / "client" / "notice.log"
        client = network.control("client")
        client.send(
            f'SETCONF Log="notice file {client_notice}" Log="[rend]info file {client_log}"')

        env, responder, _client_auth = make_instance(root / "drop")
        # One session key for every backend, as deploy/README.md §3 says: a reporter
        # whose next circuit reaches another backend keeps their session and form.
        session_key = root / "session.key"
        session_key.touch(mode=0o600)
        session_key.write_bytes(secrets.token_bytes(32))
        env = {**env, "DROPBOX_SESSION_KEY_FILE": str(session_key)}
        responder_port = free_ports(1)[0]
        responder_app = start_app_server("responder", RESPONDER_TARGET, responder_port, env,
                                         root / "logs")
        stack.callback(responder_app.stop)
        frontend_key = root / "onionbalance" / "frontend.key"
        frontend = balance.create_frontend_key(frontend_key)
        backends = [start_backend(f"backend{i}", root, network, frontend, env, stack)
                    for i in (1, 2)]
        # Onionbalance fetches instance descriptors once at start, then only
        # after its 45 s start-up pause: start it once they are on the HSDirs.
        for backend in backends:
            wait_until(functools.partial(descriptor_fetchable, client, backend.address), 90,
                       f"{backend.name}'s descriptor on the HSDirs", interval=2.0,
                       watch=network.tors)
        config = root / "onionbalance" / "config.yaml"
        config.write_text(balance.render_config(
            frontend_key, [balance.BackendInstance(b.name, b.address) for b in backends]))
        host_port = int(info.host_control.rsplit(":", 1)[1])
        process = balance.OnionbalanceProcess(config, host_port,
                                              root / "onionbalance" / "onionbalance.log",
                                              testnet=True)
        stack.callback(process.stop)
        # Onionbalance reads our tor-format key as the address we derived for it.
        process.wait_for_log(r"Loaded onion " + re.escape(frontend), 30)
        # It publishes on the next consensus (or after that pause), merging both backends.
        merged = process.wait_for_log(r"intros from 2 instances", 120)
        process.wait_for_log(r"Uploading second descriptor for " + re.escape(frontend), 30,
                             after=merged)
        yield BalancedDrop(frontend, backends, info.socks_port,
                           f"http://127.0.0.1:{responder_port}", responder, process, client_log,
                           client)


def fetch_and_read(drop: BalancedDrop, tmp_path: Path) -> str:
    """A responder fetches from the shared instance, imports offline; all texts read."""
    airgapped, networked = tmp_path / "airgapped", tmp_path / "networked"
    airgapped.mkdir(mode=0o700)
    save_identity(drop.responder, airgapped / "identity.key", PASSPHRASE)
    online_key = keys.OnlineSigningKey.delegate(drop.responder, 2).to_secret_string()
    runner = CliRunner()
    bundle = tmp_path / "in.drop"
    fetched = runner.invoke(cli, ["fetch", "--to", str(bundle), "--server", drop.responder_api],
                            env={"JOURNALIST_HOME": str(networked),
                                 "JOURNALIST_ONLINE_KEY": online_key, "COLUMNS": "200"},
                            catch_exceptions=False)
    assert fetched.exit_code == 0, fetched.output
    assert "3 envelopes" in fetched.output, fetched.output
    offline = {"JOURNALIST_HOME": str(airgapped), "JOURNALIST_PASSPHRASE": PASSPHRASE,
               "COLUMNS": "200"}
    imported = runner.invoke(cli, ["import", str(bundle)], env=offline)
    assert imported.exit_code == 0, imported.output
    listing = runner.invoke(cli, ["list"], env=offline)
    shown = []
    for _reporter, item in re.findall(r"● │ (\w{8}) +│ (\w{8})", listing.output):
        read = runner.invoke(cli, ["read", item], env=offline)
        assert read.exit_code == 0, read.output
        shown.append(read.output)
    return "\n".join(shown)


def test_frontend_survives_losing_the_backend_that_served(balanced_drop: BalancedDrop,
                                                          tmp_path: Path) -> None:
    drop = balanced_drop
    url = f"http://{drop.frontend}"
    with reachable_session(drop, url + "/submit", "first", 150) as session:
        first = submit_js_off(session, url, "Balanced first MARKER-ob-7c21")
        # A second report started on the same backend, still being written when it dies.
        started = session.get(url + "/submit", timeout=60)
        assert started.status_code == 200
        cookies = session.cookies.copy()
        serving = [backend for backend in drop.backends if backend.serving_rendezvous()]
    # Normally exactly one; a slow earlier attempt may have reached the other too.
    assert serving, "no backend holds the reporter's rendezvous circuit"
    serving[0].stop()
    survivor = next(backend for backend in drop.backends if backend is not serving[0])

    with reachable_session(drop, url + "/submit", "second", 240) as session:
        # The reporter's browser still holds the cookie and the form of the dead backend.
        session.cookies.clear()
        session.cookies.update(cookies)
        second = post_js_off_form(session, url, csrf_from(started.text),
                                  "Balanced second MARKER-ob-93d4")
        third = submit_js_off(session, url, "Balanced third MARKER-ob-5a60")
    assert len({first, second, third}) == 3
    assert survivor.serving_rendezvous()

    texts = fetch_and_read(drop, tmp_path)
    for marker in ("MARKER-ob-7c21", "MARKER-ob-93d4", "MARKER-ob-5a60"):
        assert marker in texts
