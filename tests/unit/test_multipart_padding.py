"""Transport padding after a boundary (RFC 2046) cannot move bytes between parts.

Split at every read size: with padding inside the parser's hold-back room the
parts come out exact; with more, the body is refused as BadUpload. Before the
fix, a read ending inside long padding released "\\r\\n--boundary   ..." as data,
so the next part landed inside the first file, or the first part vanished.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from dropbox.reporter.errors import BadUpload
from dropbox.reporter.multipart import PartInfo, read_multipart

BOUNDARY = b"bnd123"


def _body(padding: int) -> bytes:
    def head(name: str) -> bytes:
        return f'Content-Disposition: form-data; name="{name}"; filename="a"\r\n\r\n'.encode()
    return (b"--" + BOUNDARY + b"\r\n" + head("f1") + b"secret-one\r\n--" + BOUNDARY
            + b" " * padding + b"\r\n" + head("f2") + b"second\r\n--" + BOUNDARY + b"--\r\n")


@dataclass
class Trickle:
    data: bytes
    size: int
    position: int = 0

    def read(self, limit: int = -1) -> bytes:
        chunk = self.data[self.position:self.position + min(limit, self.size)]
        self.position += len(chunk)
        return chunk


@dataclass
class Recorded:
    name: str
    data: bytearray = field(default_factory=bytearray)

    def write(self, data: bytes | memoryview) -> None:
        self.data.extend(data)

    def finish(self) -> None:
        pass


def _parse(body: bytes, read_size: int) -> list[tuple[str, bytes]]:
    parts: list[Recorded] = []

    def open_part(info: PartInfo) -> Recorded:
        parts.append(Recorded(info.name))
        return parts[-1]

    read_multipart(Trickle(body, read_size), BOUNDARY, max_bytes=10**6, open_part=open_part)
    return [(part.name, bytes(part.data)) for part in parts]


@pytest.mark.parametrize("padding", [0, 1, 72])
def test_padding_within_room_parses_exactly_at_every_split(padding: int) -> None:
    body = _body(padding)
    for read_size in range(1, len(body) + 1):
        assert _parse(body, read_size) == [("f1", b"secret-one"), ("f2", b"second")], read_size


@pytest.mark.parametrize("padding", [73, 100, 300])
def test_long_padding_is_parsed_exactly_or_refused_never_misplaced(padding: int) -> None:
    body = _body(padding)
    refused = 0
    for read_size in range(1, len(body) + 1):
        try:
            parts = _parse(body, read_size)
        except BadUpload:
            refused += 1
            continue
        assert parts == [("f1", b"secret-one"), ("f2", b"second")], read_size
    assert refused > 0
