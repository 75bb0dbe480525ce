"""The server's database: typed SQLAlchemy 2 models and the engine that serves them.

What is stored is deliberately little: random ids, a login hash, the reporter's
reply *public* key, envelope sizes and kinds, and days (never times). No IP,
user agent, filename or codename ever reaches a column. The schema is created
and upgraded by Alembic (`dropbox/migrations/`); `open_database` runs the
migrations under a lock (PostgreSQL: an advisory lock; SQLite: a file lock) so
that several gunicorn workers, on one machine or several, can start at once.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    String,
    create_engine,
    event,
    text,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

ENVELOPE_KINDS = ("report", "followup", "attachment", "reply")
MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Any fixed number in bigint range: b"dropmigr" as a big-endian integer, shifted to signed.
MIGRATION_LOCK_KEY = int.from_bytes(b"dropmigr", "big") - 2**63


def new_id() -> str:
    """A fresh random identifier: 32 lowercase hex digits (128 bits)."""
    return secrets.token_hex(16)


def today() -> dt.date:
    """Today's date in UTC: the finest time the drop ever stores."""
    return dt.datetime.now(dt.UTC).date()


class Base(DeclarativeBase):
    pass


class Reporter(Base):
    __tablename__ = "reporters"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    login_hash: Mapped[str] = mapped_column(String(64), unique=True)
    reply_key: Mapped[str] = mapped_column(String(128))
    created_day: Mapped[dt.date] = mapped_column(Date, default=today)
    last_active_day: Mapped[dt.date] = mapped_column(Date, default=today, index=True)


class Envelope(Base):
    __tablename__ = "envelopes"
    # Never reuse a seq (the responders' cursor) after deletions; migration 0002.
    __table_args__ = ({"sqlite_autoincrement": True},)

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(32), unique=True, default=new_id)
    reporter_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("reporters.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    parent_id: Mapped[str | None] = mapped_column(String(32), nullable=True, default=None)
    size: Mapped[int] = mapped_column(BigInteger)
    day: Mapped[dt.date] = mapped_column(Date, default=today, index=True)
    emergency: Mapped[bool] = mapped_column(Boolean, default=False)
    signature: Mapped[str | None] = mapped_column(String(128), nullable=True, default=None)
    responder: Mapped[str | None] = mapped_column(String(32), nullable=True, default=None)


class ApiNonce(Base):
    __tablename__ = "api_nonces"

    nonce: Mapped[str] = mapped_column(String(128), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, default=today)


def _sqlite_pragmas(secure_delete: bool) -> Any:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        # Deleted rows are overwritten with zeros instead of lingering in free pages.
        cursor.execute(f"PRAGMA secure_delete={'ON' if secure_delete else 'OFF'}")
        # Sorts and temp b-trees in memory: a spill would be a file in TMPDIR holding
        # rows, unlinked without being overwritten.
        cursor.execute("PRAGMA temp_store=MEMORY")
        cursor.close()

    return on_connect


def make_engine(url: str, *, sqlite_secure_delete: bool = True) -> Engine:
    """An engine for `url`; SQLite connections get WAL, foreign keys and secure_delete."""
    engine = create_engine(url, future=True, pool_pre_ping=True)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas(sqlite_secure_delete))
    return engine


def alembic_config(url: str) -> Any:
    """The Alembic configuration that points at `dropbox/migrations` and `url`."""
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig(str(Path(__file__).parent / "alembic.ini"))
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade_schema(engine: Engine, lock_path: Path) -> None:
    """Bring the schema to the newest revision; safe to call from several processes.

    On PostgreSQL the lock is an advisory lock in the database itself, so
    backends on different machines that start at once serialise there and
    need no locking from the shared volume (NFS locks are easy to lose). On
    SQLite, whose file lives in the instance dir, a file lock beside it does.
    """
    from alembic import command

    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            # Released when this transaction ends, even if the process dies.
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                               {"key": MIGRATION_LOCK_KEY})
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, "head")
        return
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            with engine.begin() as connection:
                cfg.attributes["connection"] = connection
                command.upgrade(cfg, "head")
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


@dataclass(frozen=True)
class Database:
    """The engine and a session factory; one per app, stored in `app.extensions`."""

    engine: Engine
    sessions: sessionmaker[Session]

    def session(self) -> Session:
        return self.sessions()


def open_database(url: str, instance_dir: Path, *, sqlite_secure_delete: bool = True) -> Database:
    """Connect to `url`, run pending migrations, return the Database.

    Raises sqlalchemy errors if the database cannot be reached.
    """
    engine = make_engine(url, sqlite_secure_delete=sqlite_secure_delete)
    upgrade_schema(engine, instance_dir / ".migrate.lock")
    return Database(engine=engine, sessions=sessionmaker(engine, expire_on_commit=False))
