"""The control-protocol text the drop sends and reads, without stem (pure functions).

`build_add_onion` validates every part of the command, so no value can smuggle a
line break (a second command) into the control connection. `upload_progress`
tracks HS_DESC events until every descriptor upload tor started has finished.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from dropbox.onion_errors import OnionError

_SERVICE_KEY = re.compile(r"^ED25519-V3:[A-Za-z0-9+/]{86}==$")
_BASE32_KEY = re.compile(r"^[A-Z2-7]{52}$")
_TARGET = re.compile(r"^(127\.0\.0\.1:\d{1,5}|unix:/[\w./-]+)$")
_BOOTSTRAP = re.compile(r'PROGRESS=(\d+).*?SUMMARY="([^"]*)"')
@dataclass(frozen=True)
class ProofOfWork:
    """Tor's onion-service proof-of-work defence (tor >= 0.4.8): clients solve a
    puzzle when the service is under load; rate/burst bound the request queue."""

    queue_rate: int = 250
    queue_burst: int = 2500


@dataclass(frozen=True)
class OnionRequest:
    """What to publish: virtual port → local target, and who may connect."""

    ports: Mapping[int, str]
    key: str | None = None
    client_auth_v3: Sequence[str] = ()
    max_streams: int | None = 64
    proof_of_work: ProofOfWork | None = field(default_factory=ProofOfWork)


@dataclass(frozen=True)
class PublishedOnion:
    service_id: str
    key: str
    proof_of_work: bool
    note: str = ""

    @property
    def address(self) -> str:
        return f"{self.service_id}.onion"


def build_add_onion(request: OnionRequest, with_pow: bool = True) -> str:
    """The `ADD_ONION` command line for `request`.

    Raises OnionError on a malformed key, port target or client key: every
    part is validated so nothing can smuggle a line break into the command.
    """
    if request.key is not None and not _SERVICE_KEY.match(request.key):
        raise OnionError("the onion key must be an ED25519-V3 key")
    if not request.ports:
        raise OnionError("an onion service needs at least one port")
    parts = ["ADD_ONION", request.key or "NEW:ED25519-V3"]
    flags = []
    if request.key is not None:
        flags.append("DiscardPK")
    if request.max_streams:
        flags.append("MaxStreamsCloseCircuit")
    if request.client_auth_v3:
        flags.append("V3Auth")
    if flags:
        parts.append("Flags=" + ",".join(flags))
    if request.max_streams:
        parts.append(f"MaxStreams={int(request.max_streams)}")
    if with_pow and request.proof_of_work is not None:
        pow_ = request.proof_of_work
        parts += ["PoWDefensesEnabled=1", f"PoWQueueRate={int(pow_.queue_rate)}",
                  f"PoWQueueBurst={int(pow_.queue_burst)}"]
    for virtual, target in request.ports.items():
        if not _TARGET.match(target) or not 0 < int(virtual) < 65536:
            raise OnionError(f"onion port target must be 127.0.0.1:PORT, not {target!r}")
        parts.append(f"Port={int(virtual)},{target}")
    for client_key in request.client_auth_v3:
        if not _BASE32_KEY.match(client_key):
            raise OnionError("client-auth keys must be 52 base32 characters")
        parts.append(f"ClientAuthV3={client_key}")
    return " ".join(parts)


@dataclass(frozen=True)
class UploadEvent:
    """One HS_DESC event: action (UPLOAD, UPLOADED, FAILED...), onion id, HSDir."""

    action: str
    address: str
    directory: str


def upload_progress(events: Sequence[UploadEvent], service_id: str) -> tuple[int, int]:
    """(uploads finished, uploads still pending) for `service_id`, from HS_DESC events.

    UPLOADED/FAILED events are matched to earlier UPLOADs by HSDir, since tor
    does not always repeat the onion address on them.
    """
    pending: Counter[str] = Counter()
    uploaded = 0
    for event in events:
        if event.action == "UPLOAD" and event.address == service_id:
            pending[event.directory] += 1
        elif event.action in ("UPLOADED", "FAILED") and pending[event.directory] > 0:
            pending[event.directory] -= 1
            uploaded += event.action == "UPLOADED"
    return uploaded, sum(pending.values())


def parse_bootstrap(phase: str) -> tuple[int, str]:
    """(percent, summary) from `GETINFO status/bootstrap-phase`."""
    match = _BOOTSTRAP.search(phase)
    if match is None:
        return 0, phase.strip()
    return int(match.group(1)), match.group(2)
