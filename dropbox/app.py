"""Application factories: `create_app(config)` builds the reporter app.

No globals: everything the app needs hangs off `app.extensions["drop"]`
(see dropbox.services). Logging is configured so that nothing identifying is
ever written: no request lines, no IPs, no user agents (see `quiet_logging`).
"""

from __future__ import annotations

import logging

from flask import Flask
from flask.sessions import SessionInterface
from flask_wtf.csrf import CSRFProtect

from dropbox.config import Config, read_session_key
from dropbox.i18n import install_i18n
from dropbox.reporter import STREAMING_ENDPOINTS, STREAMING_VIEWS, reporter_blueprint
from dropbox.reporter.content import check_content_files
from dropbox.reporter.error_pages import install_error_pages
from dropbox.request_pace import PacedRequests
from dropbox.security import install_security
from dropbox.services import EXTENSION_KEY, Services, build_services
from dropbox.session_sealed import CookieSealer, SealedSessionInterface
from dropbox.sessions import DropSessionInterface


def quiet_logging() -> None:
    """Silence every logger that could write a request line (and with it an IP or a path).

    Werkzeug's development server and gunicorn's access log print the client
    address; both are switched off here, whatever the command line says.
    Errors are still logged, without request details.
    """
    for name in ("werkzeug", "gunicorn.access"):
        logger = logging.getLogger(name)
        logger.disabled = True
        logger.propagate = False
        logger.handlers.clear()


def _session_interface(config: Config, services: Services) -> SessionInterface:
    """Sealed cookie sessions if the deployment has a session key, else the tmpfs store.

    Raises ConfigError if a configured session key file is missing, of the
    wrong size or readable by group or others.
    """
    if config.session_key_file is None:
        return DropSessionInterface(services.sessions)
    previous = config.session_previous_key_file
    return SealedSessionInterface(
        CookieSealer(
            read_session_key(config.session_key_file),
            None if previous is None
            else read_session_key(previous, "DROPBOX_SESSION_PREVIOUS_KEY_FILE"),
            config.session_idle_minutes,
        )
    )


def create_app(config: Config, services: Services | None = None) -> Flask:
    """The reporter app for `config` (reporter blueprint, CSRF, sessions, headers, i18n).

    Raises ContentError if a crisis, safety or support file is malformed, and
    ConfigError for a bad session key file.
    """
    quiet_logging()
    check_content_files((config.crisis_file, config.safety_file, config.support_file))
    app = Flask(__name__, static_folder="static", template_folder="templates")
    app.config.update(
        SECRET_KEY=config.secret_key,
        TESTING=config.testing,
        WTF_CSRF_TIME_LIMIT=None,
        WTF_CSRF_SSL_STRICT=False,
        SESSION_COOKIE_SECURE=False,
        MAX_CONTENT_LENGTH=None,
        TEMPLATES_AUTO_RELOAD=False,
    )
    services = services or build_services(config)
    app.extensions[EXTENSION_KEY] = services
    app.session_interface = _session_interface(config, services)
    csrf = CSRFProtect(app)
    for view in STREAMING_VIEWS:
        # These views check the token themselves, from the stream, before any file part.
        csrf.exempt(view)
    install_security(app, STREAMING_ENDPOINTS)
    install_i18n(app)
    app.register_blueprint(reporter_blueprint())
    install_error_pages(app)
    app.wsgi_app = PacedRequests(app.wsgi_app, services.request_pace)  # type: ignore[method-assign]
    return app
