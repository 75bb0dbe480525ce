"""Error pages: every failure gets a page in the reporter's language (or JSON for the page JS).

One exception: once an upload is committed, the view keeps its answer here
(`remember_committed_answer`). If anything fails after that (saving the
session, finishing the response), the reporter gets that answer, the codename
page included, never a page saying nothing was saved.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, g, jsonify, render_template
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from dropbox.reporter.errors import CsrfFailed, ReporterError
from dropbox.reporter.receive import wants_json

log = logging.getLogger("dropbox.reporter")
_COMMITTED = "drop_committed_answer"


def remember_committed_answer(answer: Any) -> None:
    """Keep the answer of an upload whose files and rows are committed (this request only)."""
    setattr(g, _COMMITTED, answer)


def committed_answer() -> Any:
    """The answer kept by `remember_committed_answer` in this request, or None."""
    return g.get(_COMMITTED)


def error_response(message: str, status: int, code: str | None = None, *,
                   as_json: bool | None = None) -> Response:
    """The error page, or for the page's JavaScript (`as_json`, by default when it asks
    for JSON) {"ok": false, "error": message} with `code` when there is one."""
    if wants_json() if as_json is None else as_json:
        answer: dict[str, object] = {"ok": False, "error": message}
        if code is not None:
            answer["code"] = code
        response = jsonify(answer)
    else:
        response = Response(render_template("error.html", message=message, status=status))
    response.status_code = status
    return response


def _http_message(error: HTTPException) -> str:
    messages = {
        404: _("This page does not exist."),
        405: _("This address does not accept that kind of request."),
        413: _("What you sent is larger than this drop accepts. Nothing was saved."),
    }
    return str(messages.get(error.code or 500, _("Something went wrong. Please try again.")))


def install_error_pages(app: Flask) -> None:
    @app.errorhandler(ReporterError)
    def reporter_error(error: ReporterError) -> Response:
        return error_response(error.message, error.status, error.code)

    @app.errorhandler(CSRFError)
    def csrf_error(_error: CSRFError) -> Response:
        refused = CsrfFailed()
        return error_response(refused.message, refused.status, refused.code)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Any:
        saved = committed_answer()
        if saved is not None and (error.code or 500) >= 500:
            # The type only: messages and tracebacks could carry what the reporter sent.
            cause = getattr(error, "original_exception", None) or error
            log.error("%s after a committed upload; it is kept", type(cause).__name__)
            return saved
        response = error_response(_http_message(error), error.code or 500)
        if error.code == 405:
            response.headers["Allow"] = "GET, HEAD, POST"
        return response

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Any:
        if isinstance(error, HTTPException):
            return http_error(error)
        saved = committed_answer()
        if saved is not None:
            log.error("%s after a committed upload; it is kept", type(error).__name__)
            return saved
        # The type only: messages and tracebacks could carry what the reporter sent.
        log.error("unexpected %s while handling a request", type(error).__name__)
        return error_response(_("Something went wrong. Nothing was saved. Please try again."), 500)
