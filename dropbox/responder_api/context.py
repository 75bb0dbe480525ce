"""What the responder API's views share: the config, the database and the store."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from dropbox.config import Config
from dropbox.db import Database
from dropbox.keyring import Keyring
from dropbox.storage import EnvelopeStore


@dataclass(frozen=True)
class ResponderContext:
    config: Config
    database: Database
    store: EnvelopeStore

    def keyring(self) -> Keyring:
        """The keyring as it is on disk now: `dropbox keys add/remove` apply at once."""
        return Keyring.load(self.config.keyring_path)


def context() -> ResponderContext:
    ctx: ResponderContext = current_app.extensions["drop_responder"]
    return ctx
