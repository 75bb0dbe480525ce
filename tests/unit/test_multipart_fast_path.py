"""The parser's pass-through (parts handed on as views of the read, unparsed) gives
exactly what full parsing gives, on the inputs where it matters.

Generated bodies rarely reach the pass-through (a read must be longer than the
hold-back window and free of the delimiter), so this enumerates them: file
data around the window's length holding delimiter look-alikes ("\\r\\n--",
a boundary prefix, the boundary followed by a stray byte, lone CR or LF) at
its start, middle and end, read in sizes from just under the window to three
times it. Each body is parsed with the pass-through and without it: both must
agree, and equal the parts that were encoded wherever the data can be encoded.
"""

from __future__ import annotations

from unittest import mock

from dropbox.reporter.multipart import PartInfo, _Decoder, read_multipart

BOUNDARY = b"bnd123"
WINDOW = len(b"\r\n--") + len(BOUNDARY) + 72
LOOK_ALIKES = (b"\r\n--", b"\r\n--bnd12", b"\r\n--bnd123x", b"\r--bnd123", b"\n--bnd123",
               b"--bnd123", b"\r\n-", b"\r", b"\n", b"\r\r\n\n")


class Reads:
    def __init__(self, data: bytes, size: int) -> None:
        self.data, self.size, self.position = data, size, 0

    def read(self, limit: int = -1) -> bytes:
        chunk = self.data[self.position:self.position + min(limit, self.size)]
        self.position += len(chunk)
        return chunk


class Recorded:
    def __init__(self, info: PartInfo) -> None:
        self.name = info.name
        self.data = bytearray()
        self.finished = False

    def write(self, data: bytes | memoryview) -> None:
        self.data.extend(data)

    def finish(self) -> None:
        self.finished = True


def _body(parts: list[tuple[str, bytes]]) -> bytes:
    out = b""
    for name, data in parts:
        out += (b"--" + BOUNDARY + b'\r\nContent-Disposition: form-data; name="'
                + name.encode() + b'"; filename="a"\r\n\r\n' + data + b"\r\n")
    return out + b"--" + BOUNDARY + b"--\r\nepilogue"


def _holds_a_delimiter(data: bytes) -> bool:
    """Werkzeug takes CR, LF or CRLF + "--boundary" as a delimiter: such data cannot be
    sent in a part at all (a browser picks a boundary that is not in the data)."""
    framed = b"\r\n" + data
    return b"\r--" + BOUNDARY in framed or b"\n--" + BOUNDARY in framed


def _parse(raw: bytes, read_size: int) -> list[tuple[str, bytes, bool]]:
    parts: list[Recorded] = []

    def open_part(info: PartInfo) -> Recorded:
        parts.append(Recorded(info))
        return parts[-1]

    read_multipart(Reads(raw, read_size), BOUNDARY, max_bytes=10**7, open_part=open_part)
    return [(p.name, bytes(p.data), p.finished) for p in parts]


def test_pass_through_equals_full_parsing_around_the_window() -> None:
    taken = 0
    real = _Decoder.pass_through

    def counting(self: _Decoder, chunk: bytes, target: object) -> bool:
        nonlocal taken
        used = real(self, chunk, target)  # type: ignore[arg-type]
        taken += used
        return used

    cases = 0
    for length in (0, WINDOW - 1, WINDOW, WINDOW + 1, 2 * WINDOW, 257):
        for look_alike in LOOK_ALIKES:
            for position in (0, length // 2, length):
                data = b"A" * position + look_alike + b"A" * (length - position)
                for second in (b"", b"Z" * 300):
                    expected = [("f1", data, True), ("f2", second, True)]
                    raw = _body([("f1", data), ("f2", second)])
                    for read_size in [*range(WINDOW - 2, 3 * WINDOW, 5), len(raw)]:
                        cases += 1
                        with mock.patch.object(_Decoder, "pass_through", counting):
                            fast = _parse(raw, read_size)
                        with mock.patch.object(_Decoder, "pass_through", return_value=False):
                            slow = _parse(raw, read_size)
                        where = (length, look_alike, position, read_size)
                        assert fast == slow, where
                        if not _holds_a_delimiter(data):
                            assert fast == expected, where
    # The enumeration is only worth something if the pass-through ran on much of it.
    assert taken > cases // 4, (taken, cases)
