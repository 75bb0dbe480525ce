"""Views that accept uploads: POST /submit (new report) and POST /followup.

Both read the body themselves (dropbox.reporter.receive) and so are exempt
from Flask-WTF's automatic check, which would parse the whole body first;
they validate the CSRF token from the stream before any file part instead.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Response, jsonify, render_template, session

from dropbox.reporter.accounts import login_hash, parse_login_secret
from dropbox.reporter.auth import require_reporter_id
from dropbox.reporter.errors import NotAccepting, NotSaved, ReporterError
from dropbox.reporter.filing import (
    commit_followup,
    commit_new_reporter,
    parse_reply_key,
    seal_plaintext_followup,
    seal_plaintext_report,
    sealed_parts,
)
from dropbox.reporter.forms import validate_followup, validate_report
from dropbox.reporter.inbox import render_inbox
from dropbox.reporter.pages import submit_page_context
from dropbox.reporter.receive import ReceivedForm, receive_form, wants_json
from dropbox.reporter.sinks import UploadBatch
from dropbox.services import Services, services
from dropbox.sessions import touch_session
from keys import derive_codename, generate_codename

# What a POST handler answers: a response, a rendered page, or a page and its status.
_Page = Response | str | tuple[str, int]

SUBMIT_ENVELOPES = frozenset({"report", "attachment"})
FOLLOWUP_ENVELOPES = frozenset({"followup", "report", "attachment"})


def _receive(svc: Services, form: ReceivedForm, envelope_fields: frozenset[str]) -> None:
    recipients = svc.keyring().recipients()

    def keepalive() -> None:
        touch_session(session, svc.sessions)

    keepalive()
    receive_form(
        form,
        recipients=recipients,
        max_upload_bytes=svc.config.max_upload_bytes,
        max_text_chars=svc.config.max_text_chars,
        max_files=svc.config.max_attachments,
        envelope_fields=envelope_fields,
        keepalive=keepalive,
    )
    keepalive()


def _error_response(error: ReporterError, form_sealed: bool) -> Response:
    if form_sealed or wants_json():
        response = jsonify({"ok": False, "error": error.message})
    else:
        response = Response(
            render_template("error.html", message=error.message, status=error.status)
        )
    response.status_code = error.status
    return response


def _keeping_nothing_on_failure(
    batch: UploadBatch, form: ReceivedForm, handle: Callable[[], _Page]
) -> _Page:
    """Run `handle`; on any failure discard every file of `batch`, so nothing partial stays.

    A reporter error or a failed write (disk full) becomes its page or JSON
    answer; anything else is re-raised after the discard.
    """
    try:
        return handle()
    except ReporterError as error:
        batch.discard()
        return _error_response(error, form.sealed_mode)
    except OSError:
        batch.discard()
        return _error_response(NotSaved(), form.sealed_mode)
    except BaseException:
        batch.discard()
        raise


def submit_post() -> _Page:
    """POST /submit: a JS-off plaintext form sealed as it streams, or JS-on envelopes."""
    svc = services()
    batch = UploadBatch(svc.store)
    form = ReceivedForm(batch)

    def handle() -> _Page:
        with svc.sealing_gate.enter():
            _receive(svc, form, SUBMIT_ENVELOPES)
        if form.sealed_mode:
            return _submit_sealed(svc, form)
        return _submit_plaintext(svc, form)

    return _keeping_nothing_on_failure(batch, form, handle)


def _submit_sealed(svc: Services, form: ReceivedForm) -> Response:
    parts = sealed_parts(form, ("report",))
    reply_key = parse_reply_key(form.fields.get("reply_key", ""))
    secret = parse_login_secret(form.fields.get("login_secret", ""))
    with svc.login_gate.enter():
        hashed = login_hash(secret, svc.salt)
    commit_new_reporter(svc, form.batch, parts, hashed, str(reply_key))
    return jsonify({"ok": True})


def _submit_plaintext(svc: Services, form: ReceivedForm) -> Response | tuple[str, int]:
    fields = validate_report(form.fields, svc.config.categories, svc.config.max_text_chars)
    if fields.errors:
        form.batch.discard()
        context = submit_page_context(svc)
        return render_template(
            "submit.html",
            errors=fields.errors,
            values=fields,
            files_dropped=bool(form.sealed),
            **context,
        ), 400
    recipients = svc.keyring().recipients()
    if not recipients:
        raise NotAccepting()
    codename = generate_codename()
    derived = derive_codename(codename)
    with svc.login_gate.enter():
        hashed = login_hash(derived.login_secret, svc.salt)
    parts = seal_plaintext_report(
        form,
        recipients,
        category=fields.category,
        urgency=fields.urgency,
        text=fields.text,
        lang=fields.lang,
        reply_key=derived.reply.public,
    )
    commit_new_reporter(svc, form.batch, parts, hashed, str(derived.reply.public))
    # The codename exists only in this response; it is never stored or logged.
    html = render_template(
        "codename.html", codename=codename, emergency=parts.emergency, **submit_page_context(svc)
    )
    return Response(html, status=200)


def followup_post() -> _Page:
    """POST /followup: a logged-in reporter's next message (JS off or sealed)."""
    svc = services()
    batch = UploadBatch(svc.store)
    form = ReceivedForm(batch)

    def handle() -> _Page:
        reporter_id = require_reporter_id()
        with svc.sealing_gate.enter():
            _receive(svc, form, FOLLOWUP_ENVELOPES)
        if form.sealed_mode:
            parts = sealed_parts(form, ("followup", "report"))
            commit_followup(svc, batch, parts, reporter_id)
            return jsonify({"ok": True})
        text, errors = validate_followup(form.fields, svc.config.max_text_chars)
        if errors:
            batch.discard()
            return render_inbox(svc, reporter_id, followup_errors=errors), 400
        recipients = svc.keyring().recipients()
        if not recipients:
            raise NotAccepting()
        emergency = form.fields.get("urgency") == "emergency"
        parts = seal_plaintext_followup(form, recipients, text, emergency)
        commit_followup(svc, batch, parts, reporter_id)
        return render_template(
            "followup_sent.html", emergency=emergency, **submit_page_context(svc)
        )

    return _keeping_nothing_on_failure(batch, form, handle)
