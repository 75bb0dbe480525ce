"""Restarting the apps and the publisher keeps both onion addresses."""

from __future__ import annotations

from pathlib import Path

import requests

from dropbox.onion import TorControl
from dropbox.onion_host import DropOnions, OnionPublisher
from tests.tor.conftest import TorNetwork, make_instance, start_apps


def publish_and_fetch(tor_network: TorNetwork, root: Path, env: dict[str, str],
                      session: requests.Session) -> DropOnions:
    """Start apps + publisher, fetch the reporter page through tor, stop everything."""
    servers = start_apps(root, env)
    control = TorControl.connect(tor_network.host_control)
    publisher = OnionPublisher(control, Path(env["DROPBOX_INSTANCE"]),
                               servers[0].port, servers[1].port)
    try:
        onions = publisher.publish(timeout=90)
        page = session.get(f"http://{onions.reporter.address}/", timeout=90)
        assert page.status_code == 200
        return onions
    finally:
        publisher.close()
        control.close()
        for server in servers:
            server.stop()


def test_addresses_survive_a_restart(tor_network: TorNetwork, tmp_path: Path,
                                     tor_session: requests.Session) -> None:
    env, _responder, _client = make_instance(tmp_path)
    first = publish_and_fetch(tor_network, tmp_path, env, tor_session)
    second = publish_and_fetch(tor_network, tmp_path, env, tor_session)
    assert second.reporter.address == first.reporter.address
    assert second.responder.address == first.responder.address
    assert first.reporter.address != first.responder.address
