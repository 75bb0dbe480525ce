"""Fuzzing the reporter app's multipart handling (profile `drop-fast`; soak runs `drop-big`).

Three properties, over bodies from tests/integration/fuzz_forms.py:

- the streaming parser alone (`read_multipart`) either returns or raises one
  of the app's typed ReporterErrors, and gives back exactly the parts of an
  undamaged body;
- its pass-through (part data handed on without parsing) changes nothing:
  read in the same pieces, with and without it, every body gives the same
  parts, bytes and error;
- POST /submit on the real app (real SQLite, real envelope store) answers
  below 500 whatever the body, and after a refusal nothing new is stored:
  no row, no envelope file, no temp file; and the marker that bodies carry
  is nowhere in the instance or runtime dir at the end.
"""

from __future__ import annotations

import io
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from unittest import mock

import pytest
from flask.testing import FlaskClient
from hypothesis import given
from hypothesis import strategies as st

from dropbox.app import create_app
from dropbox.config import Config
from dropbox.keyring import Keyring
from dropbox.reporter.errors import ReporterError
from dropbox.reporter.multipart import FieldBuffer, PartInfo, _Decoder, read_multipart
from keys import ResponderIdentity
from tests.integration.fuzz_forms import (
    FAST,
    FIELD_NAMES,
    MARKER,
    FuzzBody,
    FuzzPart,
    bodies,
)
from tests.integration.reliability_checks import rows
from tests.plaintext_scan import assert_no_plaintext
from tests.reporter_client import CSRF_RE

MAX_BYTES = 1_000_000


def check_parser(body: FuzzBody) -> None:
    """The parser's property (see module docstring)."""
    boundary = "fz" + secrets.token_hex(10)
    raw, _content_type = body.encode("csrf-token-value", boundary)
    seen: list[tuple[str, FieldBuffer]] = []

    def open_part(info: PartInfo) -> FieldBuffer:
        buffer = FieldBuffer(info.name, 10_000)
        seen.append((info.name, buffer))
        return buffer

    try:
        read_multipart(io.BytesIO(raw), boundary.encode(), max_bytes=MAX_BYTES,
                       open_part=open_part, max_parts=64)
    except ReporterError:
        return
    intact = body.mutation[0] == "none" and all(
        p.name in FIELD_NAMES and p.filename in (None, "a.txt") for p in body.parts)
    if intact:
        expected = [("csrf_token", b"csrf-token-value")] if body.with_token else []
        expected += [(p.name, p.content) for p in body.parts]
        assert [(name, bytes(buffer._data)) for name, buffer in seen] == expected


@dataclass
class RecordedPart:
    info: PartInfo
    data: bytearray = field(default_factory=bytearray)
    finished: bool = False

    def write(self, data: bytes | memoryview) -> None:
        self.data.extend(data)

    def finish(self) -> None:
        self.finished = True


class Pieces:
    """A body read at most `step` bytes at a time."""

    def __init__(self, data: bytes, step: int) -> None:
        self.data, self.step, self.position = data, step, 0

    def read(self, size: int = -1, /) -> bytes:
        piece = self.data[self.position:self.position + min(self.step, size)]
        self.position += len(piece)
        return piece


def parse_in_pieces(raw: bytes, boundary: bytes, step: int) -> tuple[list[RecordedPart], str]:
    """The parts `read_multipart` gives for `raw` read `step` bytes at a time, and its error."""
    parts: list[RecordedPart] = []

    def open_part(info: PartInfo) -> RecordedPart:
        parts.append(RecordedPart(info))
        return parts[-1]

    try:
        read_multipart(Pieces(raw, step), boundary, max_bytes=MAX_BYTES, open_part=open_part)
    except ReporterError as error:
        return parts, f"{type(error).__name__}: {error}"
    return parts, ""


def check_pass_through(body: FuzzBody, step: int) -> None:
    """The pass-through's property (see module docstring)."""
    boundary = "fz" + secrets.token_hex(10)
    raw, _content_type = body.encode("csrf-token-value", boundary)
    fast = parse_in_pieces(raw, boundary.encode(), step)
    with mock.patch.object(_Decoder, "pass_through", return_value=False):
        parsed = parse_in_pieces(raw, boundary.encode(), step)
    assert fast == parsed


@dataclass
class FuzzApp:
    client: FlaskClient
    instance: Path
    token: str

    def stored(self) -> tuple[int, int, int]:
        return (len(rows(self.instance / "drop.sqlite3")),
                len(list((self.instance / "envelopes").iterdir())),
                len(list((self.instance / "tmp").iterdir())))

    def check(self, body: FuzzBody) -> None:
        """The app's property (see module docstring)."""
        before = self.stored()
        raw, content_type = body.encode(self.token, "fz" + secrets.token_hex(10))
        headers = {"Accept": "application/json"} if body.accept_json else {}
        response = self.client.post("/submit", data=raw, content_type=content_type,
                                    headers=headers)
        assert response.status_code < 500, response.get_data(as_text=True)[:500]
        after = self.stored()
        assert after[2] == 0, "a temp file was left behind"
        if response.status_code != 200:
            assert after == before, f"HTTP {response.status_code} but something was stored"
        else:
            assert after[0] == after[1], "rows and envelope files disagree"


@pytest.fixture
def fuzz_app(tmp_path: Path) -> Iterator[FuzzApp]:
    config = Config.for_instance(
        tmp_path / "instance", {"DROPBOX_RUNTIME_DIR": str(tmp_path / "runtime")})
    Keyring.load(config.keyring_path).add("Fuzz responder", str(
        ResponderIdentity.generate().public))
    app = create_app(config)
    client = app.test_client()
    page = client.get("/submit").get_data(as_text=True)
    token = CSRF_RE.search(page)
    assert token
    yield FuzzApp(client, config.instance_dir, token.group(1))
    app.extensions["drop"].database.engine.dispose()
    assert_no_plaintext([config.instance_dir, config.runtime_dir], MARKER)


@FAST
@given(body=bodies)
def test_multipart_parser_returns_parts_or_a_typed_error(body: FuzzBody) -> None:
    check_parser(body)


@FAST
@given(body=bodies, step=st.integers(1, 4000))
def test_pass_through_gives_what_the_parser_gives(body: FuzzBody, step: int) -> None:
    check_pass_through(body, step)


def test_pass_through_hands_on_file_data_and_holds_back_a_boundary_start() -> None:
    """The property above is not vacuous: here most of the file goes through unparsed."""
    content = (b"x" * 500 + b"\r\n--fz" + b"y" * 500) * 8
    body = FuzzBody(False, (FuzzPart("attachments", "a.txt", content, None),),
                    ("none", 0, b""), "good", False)
    boundary = "fz" + secrets.token_hex(10)
    raw, _content_type = body.encode("", boundary)
    taken: list[bool] = []
    real = _Decoder.pass_through

    def recording(self: _Decoder, chunk: bytes, target: object) -> bool:
        taken.append(real(self, chunk, target))  # type: ignore[arg-type]
        return taken[-1]

    with mock.patch.object(_Decoder, "pass_through", recording):
        parts, error = parse_in_pieces(raw, boundary.encode(), 1000)
    assert error == ""
    assert bytes(parts[0].data) == content and parts[0].finished
    assert taken.count(True) >= 6


@FAST
@given(body=bodies)
def test_submit_never_answers_5xx_nor_keeps_a_refused_body(
    fuzz_app: FuzzApp, body: FuzzBody
) -> None:
    fuzz_app.check(body)
