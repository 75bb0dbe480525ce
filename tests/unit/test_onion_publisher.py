"""OnionPublisher: keys persisted and reused, client auth only on the responder onion."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from dropbox.onion_command import OnionRequest, PublishedOnion
from dropbox.onion_errors import OnionKeyError
from dropbox.onion_host import OnionPublisher, ensure_demo_client_key


class FakeControl:
    """Hands out a fixed key per port, as tor would for NEW keys."""

    def __init__(self) -> None:
        self.requests: list[OnionRequest] = []
        self.removed: list[str] = []

    def add_onion(self, request: OnionRequest) -> PublishedOnion:
        self.requests.append(request)
        port = next(iter(request.ports.values()))
        raw = port.encode().ljust(64, b"k")
        key = request.key or "ED25519-V3:" + base64.b64encode(raw).decode()
        return PublishedOnion(service_id=("a" if port.endswith("80") else "b") * 56, key=key,
                              proof_of_work=True)

    def remove(self, service_id: str) -> None:
        self.removed.append(service_id)


def publisher(control: Any, instance: Path) -> OnionPublisher:
    return OnionPublisher(control, instance, 8080, 8081)


def test_keys_are_stored_then_reused(tmp_path: Path) -> None:
    pair = ensure_demo_client_key(tmp_path)
    assert pair is not None
    first = FakeControl()
    onions = publisher(first, tmp_path).add()
    reporter, responder = first.requests
    assert reporter.key is None and not reporter.client_auth_v3
    assert responder.client_auth_v3 == [pair.public_base32]
    assert reporter.max_streams and reporter.proof_of_work is not None
    stored = (tmp_path / "onion" / "reporter.key").read_text().strip()
    assert stored == onions.reporter.key

    second = FakeControl()
    again = publisher(second, tmp_path)
    again.add()
    assert [r.key for r in second.requests] == [onions.reporter.key, onions.responder.key]
    again.close()
    assert second.removed == ["a" * 56, "b" * 56]


def test_no_responder_onion_without_an_authorised_workstation(tmp_path: Path) -> None:
    control = FakeControl()
    with pytest.raises(OnionKeyError, match="never published without one"):
        publisher(control, tmp_path).add()
    assert control.requests == []
