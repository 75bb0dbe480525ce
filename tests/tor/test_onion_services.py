"""The drop's onions on a real private Tor network, fetched through tor's SocksPort."""

from __future__ import annotations

import subprocess

import requests

from dropbox.onion_auth import load_service_key
from tests.tor.conftest import OnionDrop, TorNetwork
from tests.tor.socks_probe import ONION_CLIENT_AUTH_MISSING, SUCCEEDED, socks_connect_reply


def test_reporter_onion_serves_this_drop(onion_drop: OnionDrop,
                                         tor_session: requests.Session) -> None:
    page = tor_session.get(onion_drop.reporter_url + "/", timeout=60)
    assert page.status_code == 200
    assert "text/html" in page.headers["Content-Type"]
    keyring = tor_session.get(onion_drop.reporter_url + "/keys.json", timeout=60)
    assert str(onion_drop.responder.public) in keyring.text


def test_responder_onion_refuses_a_client_without_the_key(onion_drop: OnionDrop) -> None:
    assert onion_drop.unauthorised_socks_reply == ONION_CLIENT_AUTH_MISSING


def test_reporter_onion_needs_no_key(tor_network: TorNetwork, onion_drop: OnionDrop) -> None:
    code = socks_connect_reply(tor_network.socks_port, onion_drop.reporter_address)
    assert code == SUCCEEDED


def test_responder_onion_answers_an_authorised_client(authorised_client: OnionDrop,
                                                      tor_session: requests.Session) -> None:
    response = tor_session.get(authorised_client.responder_url + "/api/v1/items", timeout=60)
    # The API itself answered: unsigned requests get its one uniform refusal.
    assert response.status_code == 401
    assert response.json() == {"error": "unauthorized"}


def test_onion_keys_are_private_files(onion_drop: OnionDrop) -> None:
    for name in ("reporter", "responder"):
        path = onion_drop.instance_dir / "onion" / f"{name}.key"
        assert path.stat().st_mode & 0o777 == 0o600
        assert load_service_key(path) is not None


def test_proof_of_work_is_on_when_tor_supports_it(onion_drop: OnionDrop) -> None:
    options = subprocess.run(["tor", "--list-torrc-options"], capture_output=True, text=True,
                             check=True).stdout
    supported = "HiddenServicePoWDefensesEnabled" in options
    for onion in (onion_drop.onions.reporter, onion_drop.onions.responder):
        assert onion.proof_of_work is supported
        assert supported or "proof-of-work" in onion.note
