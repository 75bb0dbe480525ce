"""A recording TCP relay between the browser and the server: what really went over the wire.

Playwright cannot show request bodies built from Blobs (the sealed uploads),
so the browser talks to this relay instead of gunicorn, and the test scans
every byte the browser sent.
"""

from __future__ import annotations

import socket
import socketserver
import threading
from types import TracebackType

BUFFER = 65536


class _Relay(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, upstream: tuple[str, int], tap: WireTap) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.upstream = upstream
        self.tap = tap


class _Handler(socketserver.BaseRequestHandler):
    server: _Relay

    def handle(self) -> None:
        client: socket.socket = self.request
        upstream = socket.create_connection(self.server.upstream)
        back = threading.Thread(target=_pump, args=(upstream, client, None), daemon=True)
        back.start()
        _pump(client, upstream, self.server.tap.new_stream())
        back.join(timeout=30)
        upstream.close()


def _pump(source: socket.socket, sink: socket.socket, record: bytearray | None) -> None:
    try:
        while data := source.recv(BUFFER):
            if record is not None:
                record.extend(data)
            sink.sendall(data)
    except OSError:
        pass
    finally:
        try:
            sink.shutdown(socket.SHUT_WR)
        except OSError:
            pass


class WireTap:
    """Relay 127.0.0.1:<port> → `upstream`, keeping every browser→server byte."""

    def __init__(self, upstream_port: int) -> None:
        self._lock = threading.Lock()
        self._streams: list[bytearray] = []
        self._relay = _Relay(("127.0.0.1", upstream_port), self)
        self.port: int = self._relay.server_address[1]
        self._thread = threading.Thread(target=self._relay.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def new_stream(self) -> bytearray:
        """The buffer one connection's browser→server bytes are appended to."""
        stream = bytearray()
        with self._lock:
            self._streams.append(stream)
        return stream

    def sent(self) -> list[bytes]:
        """Everything the browser has sent so far, one byte string per connection."""
        with self._lock:
            return [bytes(stream) for stream in self._streams]

    def clear(self) -> None:
        with self._lock:
            for stream in self._streams:
                stream.clear()

    def __enter__(self) -> WireTap:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._relay.shutdown()
        self._relay.server_close()
