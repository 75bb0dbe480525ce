"""Hostile database exports (dropbox.backup_rows.parse_lines): a typed error, never a traceback."""

from __future__ import annotations

import json

import pytest

from dropbox.backup_rows import MAX_LINE_BYTES, RowsError, parse_lines

HEADER = json.dumps({"drop_backup_db": 1, "envelope_seq_high_water": 0}).encode() + b"\n"


@pytest.mark.parametrize("opening", [b"[", b'{"t":'])
def test_deeply_nested_json_is_refused_as_malformed(opening: bytes) -> None:
    # Within the line limit, but deeper than Python's recursion limit.
    line = opening * ((MAX_LINE_BYTES - 1) // len(opening)) + b"\n"
    with pytest.raises(RowsError, match="line 2"):
        parse_lines(iter([HEADER, line]))


def test_a_deeply_nested_header_is_refused_as_malformed() -> None:
    with pytest.raises(RowsError, match="line 1"):
        parse_lines(iter([b"[" * 50_000 + b"\n"]))
