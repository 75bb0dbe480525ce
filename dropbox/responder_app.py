"""The responder API app (port 8081): signed requests only, JSON and ciphertext out.

Every request, whatever its path, must carry a valid signature from an online
key delegated by a responder in the keyring (FORMAT.md §7); anything else is
answered with the same 401. There are no pages, no sessions, no cookies.
"""

from __future__ import annotations

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException

from dropbox.app import quiet_logging
from dropbox.config import Config
from dropbox.db import open_database
from dropbox.responder_api import STREAMING_ENDPOINTS, api
from dropbox.responder_api.auth import require_signed_request
from dropbox.responder_api.context import ResponderContext
from dropbox.security import install_security
from dropbox.storage import EnvelopeStore


def create_responder_app(config: Config) -> Flask:
    """A Flask app serving `/api/v1` for `config`'s instance (database migrated on start)."""
    quiet_logging()
    app = Flask(__name__, static_folder=None)
    app.config.update(TESTING=config.testing, MAX_CONTENT_LENGTH=None)
    database = open_database(config.database_url, config.instance_dir,
                             sqlite_secure_delete=config.sqlite_secure_delete)
    app.extensions["drop_responder"] = ResponderContext(
        config=config, database=database, store=EnvelopeStore(config.instance_dir))
    install_security(app, STREAMING_ENDPOINTS)
    app.before_request(require_signed_request)
    app.register_blueprint(api)

    @app.errorhandler(HTTPException)
    def json_error(error: HTTPException) -> tuple[Response, int]:
        return jsonify(error=error.name.lower()), error.code or 500

    return app
