"""torrc files for the private test network, rendered from deploy/testnet/*.torrc."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from string import Template

from dropbox.onion_errors import TorStartError

TEMPLATE_DIR = Path(__file__).resolve().parents[2] / "deploy" / "testnet"


class Role(Enum):
    AUTHORITY = "authority"
    RELAY = "relay"
    CLIENT = "client"  # SocksPort for requests and browsers
    ONION_HOST = "onion-host"  # publishes the drop's onions; no SocksPort


@dataclass(frozen=True)
class Node:
    """One tor of the network and the ports it listens on (all on 127.0.0.1)."""

    nickname: str
    role: Role
    control_port: int
    or_port: int = 0
    dir_port: int = 0
    socks_port: int = 0


@dataclass(frozen=True)
class Authority:
    """What every node needs to know about the directory authority."""

    nickname: str
    or_port: int
    dir_port: int
    v3ident: str
    fingerprint: str

    def torrc_line(self) -> str:
        return (f"DirAuthority {self.nickname} orport={self.or_port} no-v2 "
                f"v3ident={self.v3ident} 127.0.0.1:{self.dir_port} {self.fingerprint}")


# The first round: tor votes 4 s (vote + dist delays) before each interval
# boundary, at once if that moment has passed. With a 5 s interval that is
# always within 1 s of launch, before the relays have uploaded descriptors, and
# the next chance is a full 10 s interval later. 6 s and a chosen offset put
# the first vote ~2.5 s after launch and the first full consensus at ~6.5 s.
INITIAL_VOTING_INTERVAL = 6


def voting_offset(now: float, lead: float = 6.5, interval: int = INITIAL_VOTING_INTERVAL) -> int:
    """TestingV3AuthVotingStartOffset making an interval boundary fall ~`lead` s after `now`."""
    return int(now + lead) % interval


def _template(name: str) -> Template:
    path = TEMPLATE_DIR / f"{name}.torrc"
    try:
        return Template(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise TorStartError(f"testnet torrc template missing: {path} ({exc})") from exc


def render_torrc(node: Node, data_dir: Path, empty_file: Path,
                 authority: Authority, voting_offset_seconds: int = 0) -> str:
    """The complete torrc for `node`. Raises TorStartError if a template is missing."""
    values = {
        "nickname": node.nickname,
        "data_dir": str(data_dir),
        "control_port": node.control_port,
        "empty_file": str(empty_file),
        "dir_authorities": authority.torrc_line(),
        "or_port": node.or_port,
        "dir_port": node.dir_port,
        "voting_offset": voting_offset_seconds,
        "initial_interval": INITIAL_VOTING_INTERVAL,
        "socks_spec": f"127.0.0.1:{node.socks_port} ExtendedErrors" if node.socks_port else "0",
    }
    parts = ["common"]
    if node.role in (Role.AUTHORITY, Role.RELAY):
        parts.append("relay")
    if node.role is Role.AUTHORITY:
        parts.append("authority")
    if node.role in (Role.CLIENT, Role.ONION_HOST):
        parts.append("client")
    return "\n".join(_template(part).substitute(values) for part in parts)
