"""Views that accept uploads: POST /submit (new report) and POST /followup.

Both read the body themselves (dropbox.reporter.receive) and so are exempt
from Flask-WTF's automatic check, which would parse the whole body first;
they validate the CSRF token from the stream before any file part instead.

A sealing-gate slot is taken only once the token is valid (an anonymous
stranger cannot hold one), and a body that sends nothing for
`upload_idle_seconds` is refused. The answer page is rendered before the
commit: once files and rows are committed nothing may discard them, and the
reporter is never told "nothing was saved" about a report that was.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import ExitStack
from typing import TypeVar

from flask import Response, jsonify, render_template, session

from dropbox.reporter.accounts import login_hash, parse_login_secret
from dropbox.reporter.auth import current_reporter_id, require_reporter_id
from dropbox.reporter.error_pages import (
    committed_answer,
    error_response,
    remember_committed_answer,
)
from dropbox.reporter.errors import (
    CsrfFailed,
    InboxGone,
    NotAccepting,
    NotLoggedIn,
    NotSaved,
    ReporterError,
)
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
from dropbox.sessions import destroy_session, touch_session
from keys import derive_codename, generate_codename

# What a POST handler answers: a response, a rendered page, or a page and its status.
_Page = Response | str | tuple[str, int]
_AnswerT = TypeVar("_AnswerT", bound=_Page)

SUBMIT_ENVELOPES = frozenset({"report", "attachment"})
FOLLOWUP_ENVELOPES = frozenset({"followup", "report", "attachment"})
# A finished upload has paid for its streaming: it waits this long for an Argon2
# slot (a login flood keeps them busy) rather than the 2 s a login waits.
UPLOAD_LOGIN_WAIT_SECONDS = 60.0
log = logging.getLogger("dropbox.reporter")


def _receive(svc: Services, form: ReceivedForm, envelope_fields: frozenset[str], *,
             logged_in: bool = False) -> None:
    """Read the body into `form`. With `logged_in`, raises NotLoggedIn once the token is
    valid (before any file part is accepted) unless the session is logged in."""
    recipients = svc.keyring().recipients()

    def token_valid(gate_slot: ExitStack) -> None:
        if logged_in:
            require_reporter_id()
        gate_slot.enter_context(svc.sealing_gate.enter())

    def keepalive() -> None:
        touch_session(session, svc.sessions)

    keepalive()
    with ExitStack() as gate_slot:
        receive_form(
            form,
            recipients=recipients,
            max_upload_bytes=svc.config.max_upload_bytes,
            max_text_chars=svc.config.max_text_chars,
            max_files=svc.config.max_attachments,
            envelope_fields=envelope_fields,
            keepalive=keepalive,
            # Called once the CSRF token is valid; the slot is freed when the body is read.
            on_token_valid=lambda: token_valid(gate_slot),
            idle_seconds=svc.config.upload_idle_seconds,
            pace=svc.request_pace,
        )
    keepalive()


def _error_response(error: ReporterError, form_sealed: bool) -> Response:
    return error_response(error.message, error.status, error.code,
                          as_json=form_sealed or wants_json())


def _committed(form: ReceivedForm, answer: _AnswerT) -> _AnswerT:
    """Mark `form` saved and keep its answer for error_pages, should finishing the response fail."""
    form.saved = True
    remember_committed_answer(answer)
    return answer


def _csrf_refused(svc: Services, form: ReceivedForm) -> _Page:
    """A JS-off report whose token expired: the form again, with the text already read."""
    fields = validate_report(form.fields, svc.config.categories, svc.config.max_text_chars)
    return render_template(
        "submit.html",
        errors={"text": CsrfFailed().resend_message},
        values=fields,
        files_dropped=form.files_offered,
        **submit_page_context(svc),
    ), 400


def _keeping_nothing_on_failure(
    svc: Services,
    form: ReceivedForm,
    handle: Callable[[], _Page],
    *,
    resend: Callable[[ReporterError], _Page | None] | None = None,
) -> _Page:
    """Run `handle`; on a failure before the commit discard every file of the batch.

    A reporter error or a failed write (disk full) becomes its page or JSON
    answer; anything else is re-raised after the discard. After the commit
    (`form.saved`) nothing is discarded and the reporter is told it was kept.
    For a JS-off form, `resend(error)` may answer instead with a page that gives
    the reporter their text back (an expired token, a session that ended).
    """
    batch = form.batch
    try:
        return handle()
    except BaseException as error:
        if form.saved:
            if not isinstance(error, Exception):
                raise
            log.error("%s after a committed upload; it is kept", type(error).__name__)
            answer: _Page | None = committed_answer()
            if answer is None:
                raise
            return answer
        batch.discard()
        if isinstance(error, InboxGone):
            destroy_session(session)
        if isinstance(error, ReporterError) and resend is not None \
                and not form.sealed_mode and not wants_json():
            page = resend(error)
            if page is not None:
                return page
        if isinstance(error, ReporterError):
            return _error_response(error, form.sealed_mode)
        if isinstance(error, OSError):
            return _error_response(NotSaved(), form.sealed_mode)
        raise


def submit_post() -> _Page:
    """POST /submit: a JS-off plaintext form sealed as it streams, or JS-on envelopes."""
    svc = services()
    form = ReceivedForm(UploadBatch(svc.store))

    def handle() -> _Page:
        _receive(svc, form, SUBMIT_ENVELOPES)
        if form.sealed_mode:
            return _submit_sealed(svc, form)
        return _submit_plaintext(svc, form)

    def resend(error: ReporterError) -> _Page | None:
        return _csrf_refused(svc, form) if isinstance(error, CsrfFailed) else None

    return _keeping_nothing_on_failure(svc, form, handle, resend=resend)


def _submit_sealed(svc: Services, form: ReceivedForm) -> Response:
    parts = sealed_parts(form, ("report",))
    reply_key = parse_reply_key(form.fields.get("reply_key", ""))
    secret = parse_login_secret(form.fields.get("login_secret", ""))
    with svc.login_gate.enter(UPLOAD_LOGIN_WAIT_SECONDS):
        hashed = login_hash(secret, svc.salt)
    answer = jsonify({"ok": True})
    commit_new_reporter(svc, form.batch, parts, hashed, str(reply_key))
    return _committed(form, answer)


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
    with svc.login_gate.enter(UPLOAD_LOGIN_WAIT_SECONDS):
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
    # The codename exists only in this response; it is never stored or logged.
    # Rendered before the commit: after it, nothing may fail between the reporter
    # and the only copy of their codename.
    html = render_template(
        "codename.html", codename=codename, emergency=parts.emergency, **submit_page_context(svc)
    )
    answer = Response(html, status=200)
    commit_new_reporter(svc, form.batch, parts, hashed, str(derived.reply.public))
    return _committed(form, answer)


def followup_post() -> _Page:
    """POST /followup: a logged-in reporter's next message (JS off or sealed)."""
    svc = services()
    form = ReceivedForm(UploadBatch(svc.store))
    batch = form.batch

    def handle() -> _Page:
        if wants_json():
            # The page script is told "log in" at once: a token refusal would make it
            # fetch a token and upload the whole body again, only to hear it now.
            require_reporter_id()
        _receive(svc, form, FOLLOWUP_ENVELOPES, logged_in=True)
        reporter_id = require_reporter_id()
        if form.sealed_mode:
            parts = sealed_parts(form, ("followup", "report"))
            answer: _Page = jsonify({"ok": True})
        else:
            text, errors = validate_followup(form.fields, svc.config.max_text_chars)
            if errors:
                batch.discard()
                return render_inbox(svc, reporter_id, followup_errors=errors), 400
            recipients = svc.keyring().recipients()
            if not recipients:
                raise NotAccepting()
            emergency = form.fields.get("urgency") == "emergency"
            parts = seal_plaintext_followup(form, recipients, text, emergency)
            answer = render_template(
                "followup_sent.html", emergency=emergency, **submit_page_context(svc)
            )
        commit_followup(svc, batch, parts, reporter_id)
        return _committed(form, answer)

    def resend(error: ReporterError) -> _Page | None:
        if isinstance(error, (CsrfFailed, NotLoggedIn)):
            return _followup_refused(svc, form, error.status)
        return None

    return _keeping_nothing_on_failure(svc, form, handle, resend=resend)


def _followup_refused(svc: Services, form: ReceivedForm, status: int) -> _Page:
    """A JS-off follow-up whose session ended (or whose token expired): nothing was
    sent; the text comes back, to be sent again after logging in."""
    text = form.fields.get("text", "")
    reporter_id = current_reporter_id()
    if reporter_id is not None:
        return render_inbox(svc, reporter_id,
                            followup_errors={"text": CsrfFailed().resend_message},
                            followup_text=text), status
    return render_template("login.html", error=None, unsent_text=text,
                           files_dropped=form.files_offered), status
