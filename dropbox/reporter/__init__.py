"""The reporter blueprint: every page a reporter sees, with JavaScript on or off."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint

from dropbox.reporter import inbox, pages, submit

# Views that parse request.stream themselves (and check CSRF from it).
STREAMING_VIEWS: tuple[Callable[..., Any], ...] = (submit.submit_post, submit.followup_post)
STREAMING_ENDPOINTS = frozenset({"reporter.submit_post", "reporter.followup_post"})


def reporter_blueprint() -> Blueprint:
    """A fresh blueprint with every reporter route (one per app: no shared state)."""
    bp = Blueprint("reporter", __name__)
    routes: list[tuple[str, Callable[..., Any], list[str]]] = [
        ("/", pages.intro, ["GET"]),
        ("/submit", pages.submit_form, ["GET"]),
        ("/submit", submit.submit_post, ["POST"]),
        ("/codename", pages.codename_notice, ["GET"]),
        ("/safety", pages.safety, ["GET"]),
        ("/support", pages.support, ["GET"]),
        ("/keys.json", pages.keys_json, ["GET"]),
        ("/csrf-token", pages.csrf_token_json, ["GET"]),
        ("/login", inbox.login_form, ["GET"]),
        ("/login", inbox.login_post, ["POST"]),
        ("/inbox", inbox.inbox, ["GET"]),
        ("/followup", submit.followup_post, ["POST"]),
        ("/reply/<reply_id>.env", inbox.reply_envelope, ["GET"]),
        ("/reply/<reply_id>/delete", inbox.delete_reply, ["POST"]),
        ("/logout", inbox.logout, ["POST"]),
    ]
    for rule, view, methods in routes:
        bp.add_url_rule(rule, endpoint=view.__name__, view_func=view, methods=methods)
    return bp
