"""What one app instance works with: config, database, envelope files, sessions, gates.

Built once by `create_app(config)` and kept in `app.extensions["drop"]`; views
reach it through `services()`. There is no module-level state.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app

from dropbox.config import Config
from dropbox.db import Database, open_database
from dropbox.keyring import Keyring
from dropbox.reporter.accounts import Gate, load_or_create_salt
from dropbox.request_pace import PaceWatch
from dropbox.sessions import SessionStore
from dropbox.storage import EnvelopeStore

EXTENSION_KEY = "drop"
ABANDONED_TEMP_SECONDS = 3600.0


@dataclass(frozen=True)
class Services:
    config: Config
    database: Database
    store: EnvelopeStore
    sessions: SessionStore
    salt: bytes
    login_gate: Gate
    sealing_gate: Gate
    request_pace: PaceWatch

    def keyring(self) -> Keyring:
        """The keyring as it is on disk now (so `dropbox keys add` needs no restart)."""
        return Keyring.load(self.config.keyring_path)


def build_services(config: Config) -> Services:
    """Create directories, run migrations, wipe temp files no live request holds.

    Raises OSError if the instance or runtime dir cannot be written and
    sqlalchemy errors if the database cannot be reached.
    """
    store = EnvelopeStore(config.instance_dir)
    # Other workers may be mid-upload: their temp files are leased (flock) and skipped.
    store.cleanup_temp(older_than_seconds=ABANDONED_TEMP_SECONDS)
    return Services(
        config=config,
        database=open_database(
            config.database_url,
            config.instance_dir,
            sqlite_secure_delete=config.sqlite_secure_delete,
        ),
        store=store,
        sessions=SessionStore(config.sessions_path, config.session_idle_minutes),
        salt=load_or_create_salt(config.salt_path),
        login_gate=Gate(config.heavy_concurrency),
        sealing_gate=Gate(config.upload_concurrency),
        request_pace=PaceWatch(config.request_grace_seconds, config.request_min_bytes_per_second),
    )


def services(app: Flask | None = None) -> Services:
    """The Services of `app` (default: the current app)."""
    target = app if app is not None else current_app
    found = target.extensions.get(EXTENSION_KEY)
    if not isinstance(found, Services):
        raise RuntimeError("this app was not built by dropbox.app.create_app")
    return found
