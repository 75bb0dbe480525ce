"""Response headers, allowed methods and request-body rules for every response.

- Strict CSP (no inline script or style anywhere), framing denied, no sniffing,
  no referrer, isolated browsing context, `no-store` on every page.
- Only GET, HEAD and POST: anything else is 405 before any view runs.
- Werkzeug never spools an upload to a temp file: the request class refuses
  file parts outright; the upload views parse `request.stream` themselves.
  Other POST bodies are capped small.
- No `Server` version and no `X-Powered-By`.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Request, Response, request
from werkzeug.exceptions import BadRequest, MethodNotAllowed

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
}
ALLOWED_METHODS = frozenset({"GET", "HEAD", "POST"})
SMALL_FORM_BYTES = 64 * 1024


class NoSpoolRequest(Request):
    """A request that never writes an uploaded file anywhere.

    The streaming views read `request.stream` directly; if anything else tries
    to parse a file part (`request.files` on another route) it is refused.
    """

    max_form_parts = 64

    def _get_file_stream(self, *args: Any, **kwargs: Any) -> Any:
        raise BadRequest("File uploads are only accepted by the submit and follow-up forms.")


def _restrict_request() -> None:
    if request.method not in ALLOWED_METHODS:
        raise MethodNotAllowed(valid_methods=sorted(ALLOWED_METHODS))
    endpoint = request.endpoint or ""
    view = request.url_rule and request.url_rule.endpoint
    streaming = view is not None and view in _streaming_endpoints(endpoint)
    if request.method == "POST" and not streaming:
        # Plain forms are tiny; anything bigger is refused before it is read.
        request.max_content_length = SMALL_FORM_BYTES
        request.max_form_memory_size = SMALL_FORM_BYTES


def _streaming_endpoints(_endpoint: str) -> frozenset[str]:
    from flask import current_app

    endpoints: frozenset[str] = current_app.config.get("DROP_STREAMING_ENDPOINTS", frozenset())
    return endpoints


def _add_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers[name] = value
    if not (request.path.startswith("/static/") and response.status_code == 200):
        response.headers["Cache-Control"] = "no-store, max-age=0"
        response.headers["Pragma"] = "no-cache"
    else:
        response.headers["Cache-Control"] = "public, max-age=3600"
    response.headers.pop("X-Powered-By", None)
    response.headers.pop("Server", None)
    return response


def install_security(app: Flask, streaming_endpoints: frozenset[str]) -> None:
    """Wire the request rules and response headers into `app`."""
    app.request_class = NoSpoolRequest
    app.config["DROP_STREAMING_ENDPOINTS"] = streaming_endpoints
    app.before_request(_restrict_request)
    app.after_request(_add_headers)
