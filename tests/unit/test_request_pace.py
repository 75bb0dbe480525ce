"""The pace floor on requests (dropbox.request_pace), on real loopback sockets with a
hand-moved clock."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dropbox.config import Config, ConfigError
from dropbox.request_pace import PaceWatch, bytes_received


@pytest.fixture
def connection() -> Iterator[tuple[socket.socket, socket.socket]]:
    """(client, server side) of one TCP connection on 127.0.0.1."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        client = socket.create_connection(listener.getsockname())
        accepted, _ = listener.accept()
    with client, accepted:
        yield client, accepted


def _arrived(sock: socket.socket, count: int) -> None:
    deadline = time.monotonic() + 10
    while (bytes_received(sock) or 0) < count:
        assert time.monotonic() < deadline, "the bytes never reached the kernel"
        time.sleep(0.01)


def test_kernel_count_follows_what_the_client_sent(
        connection: tuple[socket.socket, socket.socket]) -> None:
    client, server = connection
    assert bytes_received(server) == 0
    client.sendall(b"x" * 12_345)
    _arrived(server, 12_345)
    assert bytes_received(server) == 12_345


def test_unix_sockets_are_not_watched() -> None:
    left, right = socket.socketpair()
    with left, right:
        assert bytes_received(left) is None
        with PaceWatch(10, 500).watching(left) as watched:
            assert watched is None


def test_an_upload_gets_grace_then_a_second_per_min_rate_bytes(
        connection: tuple[socket.socket, socket.socket]) -> None:
    client, server = connection
    now = [1000.0]
    pace = PaceWatch(grace_seconds=10, min_bytes_per_second=500, clock=lambda: now[0])
    assert pace.allowed_seconds(0) == 10 and pace.allowed_seconds(5_000) == 20
    with pace.watching(server) as watched:
        assert watched is not None
        client.sendall(b"y" * 5_000)
        _arrived(server, 5_000)
        now[0] += 20  # exactly the 10 s grace + 5,000 B / 500 B/s: still in time
        pace.check()
        assert not watched.fell_behind
        assert server.recv(5_000)
        now[0] += 0.5
        pace.check()
        assert watched.fell_behind
        # Its read side is shut: a read (even one already blocked) sees the body end.
        server.settimeout(10)
        assert server.recv(100) == b""


def test_a_fast_upload_is_never_cut_and_the_floor_can_be_turned_off(
        connection: tuple[socket.socket, socket.socket]) -> None:
    client, server = connection
    now = [0.0]
    pace = PaceWatch(grace_seconds=10, min_bytes_per_second=500, clock=lambda: now[0])
    with pace.watching(server) as watched:
        assert watched is not None
        for _ in range(30):  # 30 s at 1 kB/s, twice the floor
            client.sendall(b"f" * 1_000)
            now[0] += 1
            _arrived(server, int(now[0]) * 1_000)
            pace.check()
        assert not watched.fell_behind
    with PaceWatch(10, 0).watching(server) as unwatched:
        assert unwatched is None


def test_bytes_before_the_watch_do_not_count(
        connection: tuple[socket.socket, socket.socket]) -> None:
    """Earlier requests on a kept-alive connection do not pay for this upload."""
    client, server = connection
    client.sendall(b"h" * 50_000)
    _arrived(server, 50_000)
    now = [0.0]
    pace = PaceWatch(grace_seconds=10, min_bytes_per_second=500, clock=lambda: now[0])
    with pace.watching(server) as watched:
        assert watched is not None and watched.baseline == 50_000
        now[0] = 10.5
        pace.check()
        assert watched.fell_behind


def test_the_floor_is_configured_from_the_environment(tmp_path: Path) -> None:
    env = {"DROPBOX_INSTANCE": str(tmp_path)}
    assert Config.from_env(env).request_min_bytes_per_second == 500
    off = Config.from_env({**env, "DROPBOX_REQUEST_MIN_BYTES_PER_SECOND": "0"})
    assert off.request_min_bytes_per_second == 0
    with pytest.raises(ConfigError, match="DROPBOX_REQUEST_MIN_BYTES_PER_SECOND"):
        Config.from_env({**env, "DROPBOX_REQUEST_MIN_BYTES_PER_SECOND": "-1"})
    assert Config.from_env(env).request_grace_seconds == 30
    with pytest.raises(ConfigError, match="DROPBOX_REQUEST_GRACE_SECONDS"):
        Config.from_env({**env, "DROPBOX_REQUEST_GRACE_SECONDS": "2"})
