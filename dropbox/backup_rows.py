"""The database inside a backup: a consistent logical export as JSON lines, and its import.

The export is dialect-neutral (a SQLite backup can be restored into
PostgreSQL and back). Consistency: on SQLite the live file is first copied
with the online backup API into memory and read from there; on PostgreSQL
every table is read inside one REPEATABLE READ transaction. Besides the rows,
the header line carries the highest envelope `seq` ever handed out, so that a
restored server never reuses a cursor value the responders have passed.

A backup is hostile input on import (anyone holding the responders' public
keys can make one): every line, column and value is checked before a single
row is written, and the rows go in one transaction.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import StaticPool

from dropbox.db import ENVELOPE_KINDS, ApiNonce, Envelope, Reporter
from keys import KeysError, ReplyPublicKey

FORMAT_VERSION = 1
MAX_LINE_BYTES = 64 * 1024
MAX_ENVELOPE_BYTES = 1 << 40
_HEX32 = re.compile(r"\A[0-9a-f]{32}\Z")
_HEX64 = re.compile(r"\A[0-9a-f]{64}\Z")
_BASE64 = re.compile(r"\A[A-Za-z0-9+/]{1,126}={0,2}\Z")
_FINGERPRINT = re.compile(r"\A[0-9A-F ]{1,32}\Z")
_NONCE = re.compile(r"\A[\x21-\x7e]{1,128}\Z")
_MODELS: dict[str, Any] = {"reporters": Reporter, "envelopes": Envelope, "api_nonces": ApiNonce}


class RowsError(Exception):
    """The database part of a backup is malformed; the message says which line and why."""


def _columns(model: Any) -> list[str]:
    return [column.name for column in model.__table__.columns]


def _encode(value: object) -> object:
    return value.isoformat() if isinstance(value, dt.date) else value


def _sqlite_copy(engine: Engine) -> Engine:
    """An in-memory engine holding a copy of the SQLite database taken in one step."""
    database = engine.url.database
    if not database:
        raise RowsError("the SQLite database URL names no file")
    memory = sqlite3.connect(":memory:", check_same_thread=False)
    source = sqlite3.connect(database)
    try:
        source.backup(memory)
    finally:
        source.close()
    return create_engine("sqlite://", creator=lambda: memory, poolclass=StaticPool)


def _seq_high_water(connection: Connection) -> int:
    highest = int(connection.scalar(text("SELECT COALESCE(MAX(seq), 0) FROM envelopes")) or 0)
    if connection.dialect.name == "sqlite":
        issued = connection.scalar(
            text("SELECT seq FROM sqlite_sequence WHERE name = 'envelopes'"))
        return max(highest, int(issued or 0))
    if connection.dialect.name == "postgresql":
        # pg_sequences.last_value is NULL until the sequence has handed out a value.
        issued = connection.scalar(text(
            "SELECT s.last_value FROM pg_sequences s WHERE format('%I.%I', s.schemaname, "
            "s.sequencename)::regclass = pg_get_serial_sequence('envelopes', 'seq')::regclass"))
        return max(highest, int(issued or 0))
    return highest


def export_lines(engine: Engine) -> Iterator[bytes]:
    """The database as JSON lines (header first), read from one consistent snapshot."""
    snapshot = _sqlite_copy(engine) if engine.dialect.name == "sqlite" else engine
    try:
        with snapshot.connect() as raw:
            connection = raw.execution_options(isolation_level="REPEATABLE READ") \
                if snapshot.dialect.name == "postgresql" else raw
            with connection.begin():
                header = {"drop_backup_db": FORMAT_VERSION,
                          "envelope_seq_high_water": _seq_high_water(connection)}
                yield json.dumps(header).encode() + b"\n"
                for table, model in _MODELS.items():
                    names = _columns(model)
                    order = model.__table__.primary_key.columns.values()
                    for row in connection.execute(select(model.__table__).order_by(*order)):
                        record = {name: _encode(row._mapping[name]) for name in names}
                        yield json.dumps({"t": table, "r": record}).encode() + b"\n"
    finally:
        if snapshot is not engine:
            snapshot.dispose()


def _day(value: object) -> dt.date:
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError("a day must be YYYY-MM-DD")
    return dt.date.fromisoformat(value)


def _matching(pattern: re.Pattern[str], value: object, what: str) -> str:
    if not isinstance(value, str) or not pattern.match(value):
        raise ValueError(f"{what} is malformed")
    return value


def _optional(pattern: re.Pattern[str], value: object, what: str) -> str | None:
    return None if value is None else _matching(pattern, value, what)


def _integer(value: object, low: int, high: int, what: str) -> int:
    if type(value) is not int or not low <= value <= high:
        raise ValueError(f"{what} must be a whole number from {low} to {high}")
    return value


def _reply_key(value: object) -> str:
    if not isinstance(value, str) or len(value) > 128:
        raise ValueError("reply_key is malformed")
    try:
        ReplyPublicKey.parse(value)
    except KeysError:
        raise ValueError("reply_key is not a valid drop-reply key") from None
    return value


def _check(table: str, row: dict[str, Any]) -> dict[str, Any]:
    if table == "reporters":
        return {"id": _matching(_HEX32, row["id"], "id"),
                "login_hash": _matching(_HEX64, row["login_hash"], "login_hash"),
                "reply_key": _reply_key(row["reply_key"]),
                "created_day": _day(row["created_day"]),
                "last_active_day": _day(row["last_active_day"])}
    if table == "envelopes":
        if row["kind"] not in ENVELOPE_KINDS:
            raise ValueError("kind is not one of " + ", ".join(ENVELOPE_KINDS))
        if type(row["emergency"]) is not bool:
            raise ValueError("emergency must be true or false")
        return {"seq": _integer(row["seq"], 1, 2**62, "seq"),
                "id": _matching(_HEX32, row["id"], "id"),
                "reporter_id": _matching(_HEX32, row["reporter_id"], "reporter_id"),
                "kind": row["kind"],
                "parent_id": _optional(_HEX32, row["parent_id"], "parent_id"),
                "size": _integer(row["size"], 0, MAX_ENVELOPE_BYTES, "size"),
                "day": _day(row["day"]), "emergency": row["emergency"],
                "signature": _optional(_BASE64, row["signature"], "signature"),
                "responder": _optional(_FINGERPRINT, row["responder"], "responder")}
    return {"nonce": _matching(_NONCE, row["nonce"], "nonce"), "day": _day(row["day"])}


@dataclass
class ImportedRows:
    """Checked rows, ready to insert; `envelope_sizes` maps envelope id → size."""

    seq_high_water: int = 0
    rows: dict[str, list[dict[str, Any]]] = field(
        default_factory=lambda: {name: [] for name in _MODELS})
    envelope_sizes: dict[str, int] = field(default_factory=dict)


def parse_lines(lines: Iterator[bytes]) -> ImportedRows:
    """Check every line of an export. Raises RowsError naming the first bad line."""
    result = ImportedRows()
    seen: dict[str, set[object]] = {name: set() for name in _MODELS}
    seqs: set[int] = set()
    number = 0
    for number, line in enumerate(lines, start=1):
        try:
            if len(line) > MAX_LINE_BYTES:
                raise ValueError("the line is too long")
            doc = json.loads(line)
            if number == 1:
                if (not isinstance(doc, dict) or set(doc) != {"drop_backup_db",
                                                               "envelope_seq_high_water"}
                        or doc["drop_backup_db"] != FORMAT_VERSION):
                    raise ValueError("this is not a version 1 database export")
                result.seq_high_water = _integer(doc["envelope_seq_high_water"], 0, 2**62,
                                                 "envelope_seq_high_water")
                continue
            if not isinstance(doc, dict) or set(doc) != {"t", "r"} or doc["t"] not in _MODELS:
                raise ValueError("expected {\"t\": table, \"r\": row}")
            table, row = doc["t"], doc["r"]
            if not isinstance(row, dict) or sorted(row) != sorted(_columns(_MODELS[table])):
                raise ValueError(f"a {table} row must have exactly the columns of the schema")
            checked = _check(table, row)
        except RecursionError:
            raise RowsError(f"database export, line {number}: nested too deeply") from None
        except (ValueError, TypeError) as error:
            raise RowsError(f"database export, line {number}: {error}") from None
        key = checked["nonce"] if table == "api_nonces" else checked["id"]
        if key in seen[table]:
            raise RowsError(f"database export, line {number}: duplicate {table} row")
        seen[table].add(key)
        if table == "envelopes":
            if checked["reporter_id"] not in seen["reporters"] or checked["seq"] in seqs:
                raise RowsError(f"database export, line {number}: envelope of an unknown "
                                "reporter, or a repeated seq")
            seqs.add(checked["seq"])
            result.envelope_sizes[checked["id"]] = checked["size"]
        result.rows[table].append(checked)
    if number == 0:
        raise RowsError("the database export is empty")
    if seqs and max(seqs) > result.seq_high_water:
        raise RowsError("the database export's seq high-water mark is below its rows")
    return result


def insert_rows(connection: Connection, imported: ImportedRows) -> None:
    """Insert checked rows into an empty, migrated database, and restore the seq counter."""
    for table, model in _MODELS.items():
        if imported.rows[table]:
            connection.execute(model.__table__.insert(), imported.rows[table])
    high_water = imported.seq_high_water
    if connection.dialect.name == "sqlite" and high_water:
        connection.execute(text("DELETE FROM sqlite_sequence WHERE name = 'envelopes'"))
        connection.execute(text("INSERT INTO sqlite_sequence (name, seq) "
                                "VALUES ('envelopes', :seq)"), {"seq": high_water})
    elif connection.dialect.name == "postgresql" and high_water:
        connection.execute(text("SELECT setval(pg_get_serial_sequence('envelopes', 'seq'), "
                                ":seq)"), {"seq": high_water})
