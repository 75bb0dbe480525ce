"""torrc rendering and consensus parsing for the private test network (no tor)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dropbox.testnet.config import (
    INITIAL_VOTING_INTERVAL,
    Authority,
    Node,
    Role,
    render_torrc,
    voting_offset,
)
from dropbox.testnet.network import consensus_flags

AUTHORITY = Authority("auth0", 5001, 5002, "A" * 40, "B" * 40)


def lines(text: str) -> set[str]:
    return {line.strip() for line in text.splitlines() if line and not line.startswith("#")}


def render(node: Node) -> set[str]:
    return lines(render_torrc(node, Path("/state/n"), Path("/state/empty"), AUTHORITY, 3))


def test_every_node_is_a_loopback_test_node() -> None:
    for node in (Node("auth0", Role.AUTHORITY, 9000, 5001, 5002),
                 Node("relay1", Role.RELAY, 9001, 5003),
                 Node("client", Role.CLIENT, 9002, socks_port=9050),
                 Node("onionhost", Role.ONION_HOST, 9003)):
        torrc = render(node)
        assert {"TestingTorNetwork 1", "ControlPort 127.0.0.1:" + str(node.control_port),
                "CookieAuthentication 1", "UseDefaultFallbackDirs 0", "SafeLogging 1",
                "GeoIPFile /state/empty", "DataDirectory /state/n"} <= torrc
        assert (f"DirAuthority auth0 orport=5001 no-v2 v3ident={'A' * 40} "
                f"127.0.0.1:5002 {'B' * 40}") in torrc
        assert not any("$" in line for line in torrc), "unfilled placeholder"


def test_relays_never_exit_and_cap_diff_cpu() -> None:
    torrc = render(Node("relay1", Role.RELAY, 9001, 5003))
    assert {"ExitRelay 0", "ExitPolicy reject *:*", "ORPort 127.0.0.1:5003", "SocksPort 0",
            "MaxConsensusAgeForDiffs 20 seconds", "ServerDNSResolvConfFile /state/empty"} <= torrc
    assert not any(line.startswith("DirPort") for line in torrc)


def test_authority_votes_fast() -> None:
    torrc = render(Node("auth0", Role.AUTHORITY, 9000, 5001, 5002))
    assert {"DirPort 127.0.0.1:5002", "V3AuthoritativeDirectory 1", "V3AuthVotingInterval 10",
            "TestingV3AuthVotingStartOffset 3",
            f"TestingV3AuthInitialVotingInterval {INITIAL_VOTING_INTERVAL}"} <= torrc


def test_client_socks_has_extended_errors_and_host_has_none() -> None:
    assert "SocksPort 127.0.0.1:9050 ExtendedErrors" in render(
        Node("client", Role.CLIENT, 9002, socks_port=9050))
    assert "SocksPort 0" in render(Node("onionhost", Role.ONION_HOST, 9003))


@pytest.mark.parametrize("now", [0.0, 1.5, 5.99, 1_700_000_003.2])
def test_first_voting_boundary_falls_about_six_seconds_after_launch(now: float) -> None:
    offset = voting_offset(now)
    assert 0 <= offset < INITIAL_VOTING_INTERVAL
    boundary = int(now + 6.5)
    assert (boundary - offset) % INITIAL_VOTING_INTERVAL == 0
    assert 5.5 < boundary - now <= 6.5


def test_consensus_flags_by_nickname() -> None:
    ns = ("r relay1 AAAA BBBB 2026-01-01 00:00:00 127.0.0.1 5003 0\n"
          "s Fast Guard HSDir Running Stable V2Dir Valid\n"
          "w Bandwidth=0\n"
          "r relay2 CCCC DDDD 2026-01-01 00:00:00 127.0.0.1 5004 0\n"
          "s Running\n")
    assert consensus_flags(ns) == {
        "relay1": {"Fast", "Guard", "HSDir", "Running", "Stable", "V2Dir", "Valid"},
        "relay2": {"Running"},
    }
