"""Read-only pages: intro, submit form, safety, support, the codename notice, keys.json,
and a fresh CSRF token for the page's JavaScript."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, render_template
from flask_wtf.csrf import generate_csrf

from dropbox.reporter.content import (
    PageContent,
    content_or_default,
    default_crisis,
    default_safety,
    default_support,
)
from dropbox.reporter.forms import REPLY_LANGUAGES, category_labels, urgency_labels
from dropbox.services import Services, services


def crisis_content(svc: Services) -> PageContent:
    return content_or_default(svc.config.crisis_file, default_crisis)


def submit_page_context(svc: Services) -> dict[str, Any]:
    """What the submit form and the pages after a submit need to render."""
    labels = category_labels()
    return {
        "categories": [(slug, labels.get(slug, slug)) for slug in svc.config.categories],
        "urgencies": list(urgency_labels().items()),
        "reply_languages": REPLY_LANGUAGES,
        "crisis": crisis_content(svc),
        "accepting": bool(svc.keyring().entries),
        "max_upload_mb": svc.config.max_upload_bytes // 1_000_000,
        "max_upload_bytes": svc.config.max_upload_bytes,
    }


def intro() -> str:
    return render_template("intro.html")


def submit_form() -> str:
    svc = services()
    return render_template("submit.html", errors={}, values=None, **submit_page_context(svc))


def safety() -> str:
    svc = services()
    page = content_or_default(svc.config.safety_file, default_safety)
    return render_template("content.html", page=page, page_id="safety")


def support() -> str:
    svc = services()
    page = content_or_default(svc.config.support_file, default_support)
    return render_template(
        "content.html", page=page, page_id="support", crisis=crisis_content(svc)
    )


def codename_notice() -> str:
    """GET /codename: the codename is shown once, in the submit response; never again."""
    return render_template("codename_gone.html")


def keys_json() -> Response:
    return jsonify({"recipients": services().keyring().recipient_strings()})


def csrf_token_json() -> Response:
    """GET /csrf-token: a token for this session (a new one if it ended), for the page's
    JavaScript to send the same sealed envelopes again after "this form has expired".
    Other sites cannot read it: no CORS header is ever sent."""
    return jsonify({"csrf_token": generate_csrf()})
