"""A floor under the pace of an upload's body, like Apache's mod_reqtimeout MinRate.

The idle deadline (receive.py) cuts an upload that sends nothing for a while;
a client that sends one byte just before each deadline would still hold a
worker thread (and, once its token is valid, a sealing slot) for as long as it
likes, and a few dozen such clients would hold them all. So an upload also
gets `grace_seconds`, plus one second for every `min_bytes_per_second` bytes
it has sent; past that it is cut like a stalled one.

The reading thread cannot check this: it blocks in reads of up to a MiB
(multipart.py says why). One watch thread per process checks every upload
instead, from what the kernel says the socket has received (TCP_INFO, Linux),
and shuts the socket's read side when an upload falls behind; the reading
thread then sees the body end early and `fell_behind` tells it why. Sockets
that are not TCP (a Unix socket) report nothing and are not watched.
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
class WatchedUpload:
    """One upload under watch. `fell_behind` is set (before the read side is shut)
    when it was cut for falling below the floor."""

    sock: socket.socket
    started: float
    baseline: int
    fell_behind: bool = False


class PaceWatch:
    """Checks every watched upload each CHECK_INTERVAL_SECONDS (thread started lazily,
    once per process, so that it exists in each forked worker)."""

    def __init__(self, grace_seconds: float, min_bytes_per_second: int,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.grace_seconds = grace_seconds
        self.min_bytes_per_second = min_bytes_per_second
        self._clock = clock
        self._lock = threading.Lock()
        self._watched: dict[int, WatchedUpload] = {}
        self._thread_pid: int | None = None

    @contextmanager
    def watching(self, sock: socket.socket) -> Iterator[WatchedUpload | None]:
        """Watch `sock` for the `with` block; yields None (unwatched) when the floor is
        off or the kernel cannot count the socket's bytes."""
        baseline = bytes_received(sock) if self.min_bytes_per_second > 0 else None
        if baseline is None:
            yield None
            return
        upload = WatchedUpload(sock, self._clock(), baseline)
        with self._lock:
            self._watched[id(upload)] = upload
            self._start_thread()
        try:
            yield upload
        finally:
            with self._lock:
                self._watched.pop(id(upload), None)

    def allowed_seconds(self, received: int) -> float:
        """How long an upload that has sent `received` body bytes may have taken."""
        return self.grace_seconds + received / self.min_bytes_per_second

    def check(self) -> None:
        """Cut every watched upload that has fallen behind (the thread calls this).

        Under the lock that `watching` takes to let go of an upload, so a body that
        has just been read in full is never cut after the fact: its socket carries
        the answer and, kept alive, the next request.
        """
        now = self._clock()
        with self._lock:
            for upload in self._watched.values():
                received = bytes_received(upload.sock)
                if received is None or upload.fell_behind:
                    continue
                if now - upload.started > self.allowed_seconds(received - upload.baseline):
                    upload.fell_behind = True
                    try:
                        upload.sock.shutdown(socket.SHUT_RD)
                    except OSError:
                        pass  # already closed: the upload has ended anyway

    def _start_thread(self) -> None:
        if self._thread_pid == os.getpid():
            return
        self._thread_pid = os.getpid()
        threading.Thread(target=self._run, name="upload-pace-watch", daemon=True).start()

    def _run(self) -> None:
        while True:
            time.sleep(CHECK_INTERVAL_SECONDS)
            self.check()
