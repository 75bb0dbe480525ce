"""WSGI entry points for gunicorn: `gunicorn 'dropbox.wsgi:reporter_app()'`.

Each factory reads the configuration from DROPBOX_* variables. Logging is made
quiet here too: gunicorn's access log is disabled whatever its flags say, so
no request line (with an address or a path) is ever written.
"""

from __future__ import annotations

from flask import Flask

from dropbox.app import create_app, quiet_logging
from dropbox.config import Config
from dropbox.responder_app import create_responder_app


def reporter_app() -> Flask:
    """The reporter app (port 8080) configured from the environment."""
    quiet_logging()
    return create_app(Config.from_env())


def responder_app() -> Flask:
    """The responder API (port 8081) configured from the environment."""
    quiet_logging()
    return create_responder_app(Config.from_env())
