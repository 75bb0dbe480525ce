"""The plaintext scanner finds the marker in every form it claims to, and only there."""

from __future__ import annotations

import base64
import gzip
import os
import sqlite3
import zlib
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.pg_server import PostgresServer, dump_database
from tests.plaintext_scan import PlaintextFound, assert_no_plaintext, scan

MARKER = "zq-marker-7f3a9c21"


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("encode", "expected"),
    [
        (lambda m: b"log line " + m + b" end", "raw"),
        (lambda m: m.decode().encode("utf-16-le"), "utf-16-le"),
        (lambda m: b"x=" + m.hex().encode(), "hex"),
        (lambda m: gzip.compress(b"prefix " + m), "compressed"),
        (lambda m: zlib.compress(b"abc" + m), "compressed"),
        (lambda m: zlib.compress(b"a" * 5 + m)[2:-4], "deflate"),
    ],
)
def test_finds_encoded_marker(tmp_path: Path, encode, expected: str) -> None:  # type: ignore[no-untyped-def]
    path = _write(tmp_path, "f.bin", encode(MARKER.encode()))
    findings = scan([tmp_path], MARKER)
    assert findings, "the scanner missed the marker"
    assert findings[0].path == path
    assert any(expected in f.how for f in findings), findings


@pytest.mark.parametrize("shift", [0, 1, 2])
@pytest.mark.parametrize("urlsafe", [False, True])
def test_finds_base64_at_every_alignment(tmp_path: Path, shift: int, urlsafe: bool) -> None:
    payload = os.urandom(shift) + b"\xfb\xff" + MARKER.encode() + os.urandom(7)
    encoded = (base64.urlsafe_b64encode if urlsafe else base64.b64encode)(payload)
    # Line-wrap as MIME would, inside a larger text.
    wrapped = b"\n".join(encoded[i : i + 20] for i in range(0, len(encoded), 20))
    _write(tmp_path, "cookie.txt", b"session=" + wrapped + b"; path=/")
    assert any("base64" in f.how for f in scan([tmp_path], MARKER))


def test_finds_base64_of_gzip(tmp_path: Path) -> None:
    _write(tmp_path, "x", b"data:" + base64.b64encode(gzip.compress(MARKER.encode())))
    assert any("base64 → compressed" in f.how for f in scan([tmp_path], MARKER))


def test_finds_value_split_across_sqlite_overflow_pages(tmp_path: Path) -> None:
    db = tmp_path / "drop.sqlite3"
    connection = sqlite3.connect(db)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("CREATE TABLE t (v TEXT)")
    # Place the marker so it straddles the boundary of an overflow page.
    for offset in range(4000, 4200, 7):
        connection.execute("INSERT INTO t VALUES (?)", ("y" * offset + MARKER,))
    connection.commit()
    findings = scan([tmp_path], MARKER)
    connection.close()
    assert any("table t" in f.how for f in findings), findings


def test_finds_compressed_and_escaped_values_in_a_postgres_dump(
    tmp_path: Path, postgres_cluster: PostgresServer
) -> None:
    with postgres_cluster.fresh_database() as url:
        engine = create_engine(url)
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE t (id int, blob bytea, note text)"))
            connection.execute(text("INSERT INTO t VALUES (1, :blob, :note)"),
                               {"blob": gzip.compress(b"zipped " + MARKER.encode()),
                                "note": "clean\tline\nwith escapes"})
        engine.dispose()
        clean_dump = tmp_path / "clean"
        clean_dump.mkdir()
        dump_database(url, clean_dump / "dump.sql")
        engine = create_engine(url)
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO t VALUES (2, NULL, :note)"),
                               {"note": "a\tb\\" + MARKER})
        engine.dispose()
        dump = dump_database(url, tmp_path / "dump.sql")
    # The gzip stream is hex in the dump: only the decoded bytea field reveals it.
    hows = [f.how for f in scan([clean_dump], MARKER)]
    assert hows == ["table public.t → compressed@0 → raw"], hows
    hows = [f.how for f in scan([dump], MARKER)]
    assert "raw" in hows and "table public.t → raw" in hows, hows
    assert_no_plaintext([clean_dump], "never-stored-marker-1")


def test_clean_tree_passes_and_nested_dirs_are_walked(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    _write(tmp_path / "a" / "b", "noise", os.urandom(300_000))
    _write(tmp_path / "a", "log", b"GET /submit 200\n")
    assert_no_plaintext([tmp_path, tmp_path / "missing"], MARKER)
    _write(tmp_path / "a" / "b", "late", MARKER.encode())
    with pytest.raises(PlaintextFound, match="late"):
        assert_no_plaintext([tmp_path], "other-marker-123", MARKER)


def test_short_marker_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least 8 bytes"):
        scan([tmp_path], "abc")
