"""The responder API app (port 8081): signed requests only, JSON and ciphertext out.

Every request, whatever its path, method or size, must carry a valid signature
from an online key delegated by a responder in the keyring (FORMAT.md §7);
anything else is answered with the same 401. The signature check therefore runs
before the method and size rules, which apply only to authenticated requests.
There are no pages, no sessions, no cookies.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException

from dropbox.app import quiet_logging
from dropbox.config import Config
from dropbox.db import open_database
from dropbox.request_pace import PacedRequests, PaceWatch
from dropbox.responder_api import STREAMING_ENDPOINTS, api
from dropbox.responder_api.auth import require_signed_request
from dropbox.responder_api.context import ResponderContext
from dropbox.security import install_security
from dropbox.storage import EnvelopeStore

log = logging.getLogger("dropbox.responder_api")


def create_responder_app(config: Config) -> Flask:
    """A Flask app serving `/api/v1` for `config`'s instance (database migrated on start)."""
    quiet_logging()
    app = Flask(__name__, static_folder=None)
    app.config.update(TESTING=config.testing, MAX_CONTENT_LENGTH=None)
    database = open_database(config.database_url, config.instance_dir,
                             sqlite_secure_delete=config.sqlite_secure_delete)
    app.extensions["drop_responder"] = ResponderContext(
        config=config, database=database, store=EnvelopeStore(config.instance_dir))
    # before_request functions run in registration order: authenticate first, so
    # that an unsigned PUT or oversized body gets the one 401, not a 405 or 413.
    app.before_request(require_signed_request)
    install_security(app, STREAMING_ENDPOINTS)
    app.register_blueprint(api)
    app.wsgi_app = PacedRequests(  # type: ignore[method-assign]
        app.wsgi_app, PaceWatch(config.request_grace_seconds, config.request_min_bytes_per_second))

    @app.errorhandler(HTTPException)
    def json_error(error: HTTPException) -> tuple[Response, int]:
        return jsonify(error=error.name.lower()), error.code or 500

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> tuple[Response, int]:
        if isinstance(error, HTTPException):
            return json_error(error)
        # The type only: Flask's own log line would carry the time of day and the
        # path, and messages or tracebacks can carry reporter and envelope ids.
        log.error("unexpected %s while handling a responder API request",
                  type(error).__name__)
        return jsonify(error="internal server error (the server log names its type); "
                             "try again, and tell the operator if it persists"), 500

    return app
