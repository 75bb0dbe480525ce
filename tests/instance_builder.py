"""A server instance filled directly through the models and the envelope store.

Retention and backup tests need reporters and envelopes with chosen days
(months in the past), which the apps never write; this builds them with the
same code paths the apps use to store (EnvelopeStore.new_temp/commit, the
SQLAlchemy models), and a responder in the keyring whose identity the test keeps.
"""

from __future__ import annotations

import datetime as dt
import io
import secrets
from dataclasses import dataclass
from pathlib import Path

import keys
from dropbox.config import Config
from dropbox.db import Database, Envelope, Reporter, open_database
from dropbox.keyring import Keyring
from dropbox.reporter.accounts import load_or_create_salt
from dropbox.storage import EnvelopeStore
from tests.backends import SQLITE, Backend


@dataclass
class Instance:
    config: Config
    database: Database
    store: EnvelopeStore
    identity: keys.ResponderIdentity
    backend: Backend = SQLITE

    def add_reporter(self, last_active: dt.date, created: dt.date | None = None) -> str:
        reporter_id = secrets.token_hex(16)
        with self.database.session() as session, session.begin():
            session.add(Reporter(id=reporter_id, login_hash=secrets.token_hex(32),
                                 reply_key=str(keys.ReplyKeyPair.generate().public),
                                 created_day=created or last_active,
                                 last_active_day=last_active))
        return reporter_id

    def login_hash(self, reporter_id: str) -> str:
        with self.database.session() as session:
            reporter = session.get(Reporter, reporter_id)
            assert reporter is not None
            return reporter.login_hash

    def add_envelope(self, reporter_id: str, day: dt.date, kind: str = "report",
                     parent_id: str | None = None, emergency: bool = False,
                     plaintext: bytes = b"a report") -> str:
        """A real envelope sealed to the test responder, stored as the apps store one."""
        sealed = io.BytesIO()
        keys.encrypt(io.BytesIO(plaintext), sealed, [self.identity.public])
        envelope_id = secrets.token_hex(16)
        temp_path, temp = self.store.new_temp()
        with temp:
            temp.write(sealed.getvalue())
        self.store.commit(temp_path, envelope_id)
        with self.database.session() as session, session.begin():
            session.add(Envelope(id=envelope_id, reporter_id=reporter_id, kind=kind,
                                 parent_id=parent_id, size=len(sealed.getvalue()), day=day,
                                 emergency=emergency))
        return envelope_id

    def envelope_ids(self) -> set[str]:
        with self.database.session() as session:
            return set(session.scalars(Envelope.__table__.select().with_only_columns(
                Envelope.id)))

    def reporter_ids(self) -> set[str]:
        with self.database.session() as session:
            return set(session.scalars(Reporter.__table__.select().with_only_columns(
                Reporter.id)))


def make_instance(root: Path, env: dict[str, str] | None = None,
                  backend: Backend = SQLITE) -> Instance:
    """A fresh instance under `root/instance` (runtime dir `root/run`), schema at head,
    its database on `backend` (the instance's SQLite file by default)."""
    config = Config.for_instance(root / "instance", {
        "DROPBOX_RUNTIME_DIR": str(root / "run"), **backend.env(), **(env or {})})
    identity = keys.ResponderIdentity.generate()
    Keyring.load(config.keyring_path).add("sam", str(identity.public))
    load_or_create_salt(config.salt_path)  # as the reporter app's first start does
    database = open_database(config.database_url, config.instance_dir)
    return Instance(config, database, EnvelopeStore(config.instance_dir), identity, backend)
