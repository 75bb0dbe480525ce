"""gunicorn's gthread worker with the pace floor on request headers (dropbox.request_pace).

gthread hands a connection to a thread once its first byte arrives and then
reads the request line and headers with blocking reads: a client that sends
a header byte every few seconds holds that thread. This worker watches each
connection from the moment a thread takes it until its headers are complete;
from there PacedRequests (around the app) watches the body. deploy/gunicorn.conf.py
names it as the worker class.
"""

from __future__ import annotations

from typing import Any

from gunicorn.workers.gthread import ThreadWorker  # type: ignore[import-untyped]

from dropbox.config import Config
from dropbox.request_pace import PaceWatch, WatchedRequest

_WATCH_ATTRIBUTE = "drop_header_watch"


class PacedThreadWorker(ThreadWorker):  # type: ignore[misc]
    """ThreadWorker whose threads let go of clients that send their headers too slowly."""

    def init_process(self) -> None:
        config = Config.from_env()
        # Built here, in the forked worker: its watch thread must live in this process.
        self.pace = PaceWatch(config.request_grace_seconds, config.request_min_bytes_per_second)
        super().init_process()

    def handle(self, conn: Any) -> Any:
        watched = self.pace.start(conn.sock)
        setattr(conn, _WATCH_ATTRIBUTE, watched)
        try:
            return super().handle(conn)
        finally:
            self.pace.stop(watched)

    def handle_request(self, req: Any, conn: Any) -> Any:
        # The headers are in: the app's own watch takes the body from here.
        watched: WatchedRequest | None = getattr(conn, _WATCH_ATTRIBUTE, None)
        self.pace.stop(watched)
        return super().handle_request(req, conn)
