"""Find a plaintext marker anywhere under some paths, however it was stored.

The drop promises that no reporter plaintext is ever at rest on the server.
Tests put a unique marker into what the reporter types or uploads, run a
journey, then call :func:`assert_no_plaintext` over everything the server
could have written (instance dir, database, temp dirs, logs).

A match counts in any of these forms, nested up to :data:`MAX_DEPTH` levels:

- the raw bytes (UTF-8), UTF-16-LE, and lowercase / uppercase hex;
- percent-encoded (as in a logged query string or form body);
- base64 (standard or URL-safe) at any of the three byte alignments, with or
  without line breaks, and the decoded contents of every base64 run;
- the decompressed contents of every gzip or zlib stream found, and of a file
  that is one raw deflate stream;
- every text or blob value of a SQLite database (its WAL replayed), since
  SQLite may split a long value across overflow pages where a raw byte scan
  would miss it; the database file itself is also scanned raw, which covers
  freed pages;
- every value of a PostgreSQL database, through a plain-SQL `pg_dump` of it
  (tests/backends.py writes one beside the instance): the dump is scanned raw,
  and each COPY field is unescaped (bytea hex decoded back to its bytes) and
  scanned like a SQLite cell, so a compressed or encoded blob is opened too.

Use as a library (``from tests.plaintext_scan import assert_no_plaintext``) or
from the shell: ``python -m tests.plaintext_scan MARKER PATH...`` (exit 1 when
found).
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import shutil
import sqlite3
import stat
import sys
import tempfile
import urllib.parse
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

MAX_DEPTH = 3
# Decompression output is bounded so a hostile or huge stream cannot exhaust memory.
MAX_INFLATE = 64 * 1024 * 1024
MIN_BASE64_RUN = 16
SQLITE_MAGIC = b"SQLite format 3\x00"
PG_DUMP_MAGIC = b"--\n-- PostgreSQL database dump\n"

_COPY_START = re.compile(rb"COPY (\S+) \([^)]*\) FROM stdin;")
_COPY_ESCAPE = re.compile(rb"\\(.)")
_COPY_ESCAPES = {b"b": b"\b", b"f": b"\f", b"n": b"\n", b"r": b"\r", b"t": b"\t", b"v": b"\v"}

_BASE64_RUN = re.compile(rb"[A-Za-z0-9+/_-]{%d,}={0,2}" % MIN_BASE64_RUN)
# gzip magic; zlib headers with the usual compression levels.
_STREAM_STARTS = re.compile(rb"\x1f\x8b\x08|\x78[\x01\x5e\x9c\xda]")


@dataclass(frozen=True)
class Finding:
    """One place where the marker was found: the file and the chain of decodings."""

    path: Path
    how: str

    def __str__(self) -> str:
        return f"{self.path}: {self.how}"


class PlaintextFound(AssertionError):
    """The marker is on disk: the server stored plaintext it must never keep."""


def _base64_forms(marker: bytes) -> set[bytes]:
    """Substrings every base64 encoding of ``marker`` must contain, one per alignment."""
    forms: set[bytes] = set()
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + marker)
        # Drop the characters that depend on the bytes before and after the marker.
        head = (shift * 8 + 5) // 6
        tail = len(encoded) - ((len(marker) + shift) * 8) // 6
        core = encoded[head : len(encoded) - tail] if tail else encoded[head:]
        if len(core) >= 4:
            forms.add(core)
            forms.add(core.translate(bytes.maketrans(b"+/", b"-_")))
    return forms


@dataclass(frozen=True)
class _Needles:
    direct: tuple[tuple[str, bytes], ...]
    base64: frozenset[bytes]

    @classmethod
    def of(cls, marker: bytes) -> _Needles:
        text = marker.decode("utf-8", errors="replace")
        direct = {
            "raw": marker,
            "utf-16-le": text.encode("utf-16-le"),
            "hex": marker.hex().encode(),
            "HEX": marker.hex().upper().encode(),
            "percent-encoded": urllib.parse.quote(text).encode(),
            "form-encoded": urllib.parse.quote_plus(text).encode(),
        }
        seen: set[bytes] = set()
        unique = []
        for name, needle in direct.items():
            if needle not in seen:
                seen.add(needle)
                unique.append((name, needle))
        return cls(tuple(unique), frozenset(_base64_forms(marker)))


def _inflate(data: bytes, start: int) -> bytes | None:
    view = memoryview(data)[start:]  # no copy: random ciphertext has many false starts
    for wbits in (47, -15):  # 47: gzip or zlib header, auto-detected; -15: raw deflate
        inflater = zlib.decompressobj(wbits)
        try:
            out = inflater.decompress(view, MAX_INFLATE)
        except zlib.error:
            continue
        if out:
            return out
    return None


def _scan_bytes(data: bytes, needles: _Needles, depth: int) -> Iterator[str]:
    for name, needle in needles.direct:
        if needle in data:
            yield name
    unwrapped = data.replace(b"\r", b"").replace(b"\n", b"")
    for form in needles.base64:
        if form in unwrapped:
            yield "base64"
            break
    if depth >= MAX_DEPTH:
        return
    for match in _BASE64_RUN.finditer(unwrapped):
        run = match.group().replace(b"-", b"+").replace(b"_", b"/").rstrip(b"=")
        try:
            decoded = base64.b64decode(run + b"=" * (-len(run) % 4))
        except (binascii.Error, ValueError):
            continue
        for how in _scan_bytes(decoded, needles, depth + 1):
            yield f"base64 → {how}"
    for match in _STREAM_STARTS.finditer(data):
        inflated = _inflate(data, match.start())
        if inflated is not None:
            for how in _scan_bytes(inflated, needles, depth + 1):
                yield f"compressed@{match.start()} → {how}"
    if depth == 0 and len(data) <= MAX_INFLATE:
        # A raw deflate stream has no header to look for; try the whole file.
        inflated = _inflate(data, 0)
        if inflated is not None and inflated != data:
            for how in _scan_bytes(inflated, needles, depth + 1):
                yield f"deflate → {how}"


def find_in_bytes(data: bytes, marker: str | bytes) -> list[str]:
    """How ``marker`` occurs in ``data`` (e.g. a captured request body); empty when absent."""
    raw = marker.encode("utf-8") if isinstance(marker, str) else marker
    if len(raw) < 8:
        raise ValueError("use a marker of at least 8 bytes, or matches will be accidental")
    return list(dict.fromkeys(_scan_bytes(data, _Needles.of(raw), 0)))


def _sqlite_values(path: Path) -> Iterator[tuple[str, bytes]]:
    """Every text/blob cell of the database, read from a private copy (WAL replayed)."""
    with tempfile.TemporaryDirectory(prefix="plaintext-scan-") as tmp:
        copy = Path(tmp) / "copy.sqlite3"
        shutil.copyfile(path, copy)
        for suffix in ("-wal", "-journal"):
            side = path.with_name(path.name + suffix)
            if side.exists():
                shutil.copyfile(side, copy.with_name(copy.name + suffix))
        connection = sqlite3.connect(copy)
        try:
            tables = [
                row[0]
                for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
            ]
            for table in tables:
                quoted = '"' + table.replace('"', '""') + '"'
                for row in connection.execute(f"SELECT * FROM {quoted}"):
                    for value in row:
                        if isinstance(value, str):
                            yield table, value.encode("utf-8")
                        elif isinstance(value, bytes):
                            yield table, value
        finally:
            connection.close()


def _copy_field(field: bytes) -> bytes:
    """A COPY text-format field as the value it stands for (bytea hex decoded to bytes)."""
    value = _COPY_ESCAPE.sub(lambda m: _COPY_ESCAPES.get(m.group(1), m.group(1)), field)
    if value.startswith(b"\\x"):
        try:
            return bytes.fromhex(value[2:].decode("ascii"))
        except (UnicodeDecodeError, ValueError):
            return value
    return value


def _pg_dump_values(data: bytes) -> Iterator[tuple[str, bytes]]:
    """Every non-null field of every COPY block of a plain-SQL pg_dump."""
    table: str | None = None
    for line in data.split(b"\n"):
        if table is None:
            start = _COPY_START.fullmatch(line)
            if start:
                table = start.group(1).decode("utf-8", errors="replace")
            continue
        if line == b"\\.":
            table = None
            continue
        for field in line.split(b"\t"):
            if field != b"\\N":
                yield table, _copy_field(field)


def _files(paths: Iterable[Path]) -> Iterator[Path]:
    for root in paths:
        root = Path(root)
        if not root.exists():
            continue
        if root.is_dir() and not root.is_symlink():
            for directory, _dirs, names in os.walk(root, followlinks=False):
                for name in sorted(names):
                    yield Path(directory) / name
        else:
            yield root


def scan(paths: Iterable[Path | str], marker: str | bytes) -> list[Finding]:
    """Return every place ``marker`` occurs under ``paths`` (files or directories).

    Missing paths are ignored (a temp dir that was never created holds nothing);
    sockets, FIFOs and symlinks are skipped. Raises ``OSError`` when a regular
    file cannot be read, since an unread file is not a clean file.
    """
    raw = marker.encode("utf-8") if isinstance(marker, str) else marker
    if len(raw) < 8:
        raise ValueError("use a marker of at least 8 bytes, or matches will be accidental")
    needles = _Needles.of(raw)
    findings: list[Finding] = []
    for path in _files(Path(p) for p in paths):
        mode = path.lstat().st_mode
        if not stat.S_ISREG(mode):
            continue
        data = path.read_bytes()
        for how in dict.fromkeys(_scan_bytes(data, needles, 0)):
            findings.append(Finding(path, how))
        values = (_sqlite_values(path) if data.startswith(SQLITE_MAGIC)
                  else _pg_dump_values(data) if data.startswith(PG_DUMP_MAGIC) else iter(()))
        for table, value in values:
            for how in dict.fromkeys(_scan_bytes(value, needles, 1)):
                findings.append(Finding(path, f"table {table} → {how}"))
    return findings


def assert_no_plaintext(paths: Iterable[Path | str], *markers: str | bytes) -> None:
    """Raise :class:`PlaintextFound`, listing every finding, if any marker is under ``paths``."""
    path_list = list(paths)
    findings = [finding for marker in markers for finding in scan(path_list, marker)]
    if findings:
        listing = "\n  ".join(str(finding) for finding in findings)
        raise PlaintextFound(f"plaintext marker found at rest:\n  {listing}")


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print("usage: python -m tests.plaintext_scan MARKER PATH...", file=sys.stderr)
        return 2
    findings = scan(argv[1:], argv[0])
    for finding in findings:
        print(finding)
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
