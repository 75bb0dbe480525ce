"""A floor under the pace at which a client sends a request, like Apache's mod_reqtimeout.

gunicorn's gthread worker gives each request a thread from the moment its
first byte arrives until the app has answered, and reads headers and body
with blocking reads. A client that sends a byte now and then (slowloris) holds
that thread for as long as it likes, and a few dozen such clients hold them
all: the drop stops answering. So every request gets `grace_seconds`, plus one
second for every `min_bytes_per_second` bytes it has sent; past that its read
side is shut and it ends like a client that went away. Three places watch:
the worker while headers arrive (dropbox.gunicorn_worker), PacedRequests
around the app call (bodies of every request), and receive.py, which turns a
cut upload into its 408 page.

The reading thread cannot check this itself: it blocks in reads (of up to a
MiB for uploads, multipart.py says why). One watch thread per process checks
every watched request instead, from what the kernel says the socket has
received (TCP_INFO, Linux). Sockets that are not TCP (a Unix socket) report
nothing and are not watched. What a floor cannot stop: a client that sends
just above it on many connections; deploy/README.md "Sizing" says what that
costs it.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

# struct tcp_info (linux/tcp.h): __u64 tcpi_bytes_received sits at bytes 128-135
# since Linux 4.1; older kernels return a shorter struct, which reads as "unknown".
_BYTES_RECEIVED = slice(128, 136)
CHECK_INTERVAL_SECONDS = 1.0


def bytes_received(sock: socket.socket) -> int | None:
    """Bytes the kernel has received on `sock` so far; None if it cannot say."""
    try:
        info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, _BYTES_RECEIVED.stop)
    except (OSError, AttributeError):
        return None
    if len(info) < _BYTES_RECEIVED.stop:
        return None
    return int.from_bytes(info[_BYTES_RECEIVED], sys.byteorder)


@dataclass
class WatchedRequest:
    """One request under watch. `fell_behind` is set (before the read side is shut)
    when it was cut for falling below the floor."""

    sock: socket.socket
    started: float
    baseline: int
    fell_behind: bool = False


class PaceWatch:
    """Checks every watched request each CHECK_INTERVAL_SECONDS (thread started lazily,
    once per process, so that it exists in each forked worker)."""

    def __init__(self, grace_seconds: float, min_bytes_per_second: int,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.grace_seconds = grace_seconds
        self.min_bytes_per_second = min_bytes_per_second
        self._clock = clock
        self._lock = threading.Lock()
        self._watched: dict[int, WatchedRequest] = {}
        self._thread_pid: int | None = None

    def start(self, sock: socket.socket) -> WatchedRequest | None:
        """Watch `sock` from now until `stop`; None (unwatched) when the floor is off
        or the kernel cannot count the socket's bytes."""
        baseline = bytes_received(sock) if self.min_bytes_per_second > 0 else None
        if baseline is None:
            return None
        watched = WatchedRequest(sock, self._clock(), baseline)
        with self._lock:
            self._watched[id(watched)] = watched
            self._start_thread()
        return watched

    def stop(self, watched: WatchedRequest | None) -> None:
        """Stop watching (idempotent); after this returns `watched` is never cut."""
        if watched is not None:
            with self._lock:
                self._watched.pop(id(watched), None)

    @contextmanager
    def watching(self, sock: socket.socket) -> Iterator[WatchedRequest | None]:
        """`start` and `stop` around the `with` block."""
        watched = self.start(sock)
        try:
            yield watched
        finally:
            self.stop(watched)

    def allowed_seconds(self, received: int) -> float:
        """How long a request that has sent `received` bytes may have taken."""
        return self.grace_seconds + received / self.min_bytes_per_second

    def check(self) -> None:
        """Cut every watched request that has fallen behind (the thread calls this).

        Under the lock that `stop` takes to let go of a request, so a body that
        has just been read in full is never cut after the fact: its socket carries
        the answer and, kept alive, the next request.
        """
        now = self._clock()
        with self._lock:
            for watched in self._watched.values():
                received = bytes_received(watched.sock)
                if received is None or watched.fell_behind:
                    continue
                if now - watched.started > self.allowed_seconds(received - watched.baseline):
                    watched.fell_behind = True
                    try:
                        watched.sock.shutdown(socket.SHUT_RD)
                    except OSError:
                        pass  # already closed: the request has ended anyway

    def _start_thread(self) -> None:
        if self._thread_pid == os.getpid():
            return
        self._thread_pid = os.getpid()
        threading.Thread(target=self._run, name="request-pace-watch", daemon=True).start()

    def _run(self) -> None:
        # Event.wait, not time.sleep: one idle timer per process, and tests that
        # replace time.sleep to drive their own loops do not drive this one.
        tick = threading.Event()
        while not tick.wait(CHECK_INTERVAL_SECONDS):
            self.check()


# Where PacedRequests leaves the watch of the current request for receive.py.
ENVIRON_KEY = "drop.pace"


def request_socket(environ: dict[str, Any]) -> socket.socket | None:
    """The client socket of an HTTP/1.x request (gunicorn's or Werkzeug's), else None.

    SERVER_PROTOCOL comes from the request line; HTTP/2 would share one socket
    between streams, and the test client has none.
    """
    sock = environ.get("gunicorn.socket") or environ.get("werkzeug.socket")
    http1 = str(environ.get("SERVER_PROTOCOL", "")).startswith("HTTP/1.")
    return sock if isinstance(sock, socket.socket) and http1 else None


class PacedRequests:
    """WSGI middleware: every request is watched while the app handles it (its body is
    read then); the answer's own sending, after the app returns, is not."""

    def __init__(self, app: Callable[..., Any], pace: PaceWatch) -> None:
        self.app = app
        self.pace = pace

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        sock = request_socket(environ)
        if sock is None:
            return self.app(environ, start_response)
        with self.pace.watching(sock) as watched:
            environ[ENVIRON_KEY] = watched
            return self.app(environ, start_response)
