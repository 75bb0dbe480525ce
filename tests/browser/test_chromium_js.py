"""Chromium with JavaScript on: everything is sealed in the browser, under the real CSP.

One journey: submit with an attachment → codename shown → come back and log
in → read a reply decrypted in the page → send a follow-up → delete the reply
→ log out. Everything the browser sent (captured on the wire) and everything
at rest is scanned for the markers.
"""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Browser

import keys
from tests.browser import journeys
from tests.browser.journeys import assert_wire_clean, poll, requests_to
from tests.browser.server import ReporterServer
from tests.browser.wiretap import WireTap
from tests.plaintext_scan import assert_no_plaintext


def test_submit_reply_followup_delete_logout(
    chromium: Browser, reporter_server: ReporterServer, wire: WireTap, tmp_path: Path
) -> None:
    server = reporter_server
    report_text = journeys.new_marker("report")
    attachment_path, attachment_body = journeys.write_attachment(
        tmp_path, journeys.new_marker("file"))
    reports_before = len(server.envelopes("report"))
    wire.clear()

    context = chromium.new_context()
    page = context.new_page()
    errors = journeys.watch_errors(page)
    page.goto(wire.url + "/submit")
    journeys.fill_report(page, report_text, [attachment_path])
    journeys.submit_report(page)
    codename = journeys.read_codename(page)
    # The panel replaced the form and took focus, for screen readers.
    assert page.locator("#report-form").is_hidden()
    assert page.evaluate("document.activeElement && document.activeElement.id") == "codename-panel"
    context.close()

    submits = requests_to(wire.sent(), "POST", "/submit")
    assert len(submits) == 1
    assert b'name="mode"\r\n\r\nsealed\r\n' in submits[0]
    # Neither the text, the file's name or body, nor the codename went out in clear.
    assert_wire_clean(wire.sent(), report_text, attachment_path.name, attachment_body[:64],
                      codename)

    reports = server.envelopes("report")
    assert len(reports) == reports_before + 1
    report = reports[-1]
    journeys.check_report(server, report, report_text,
                          [(attachment_path.name, attachment_body)], codename)

    # Come back later, in a fresh browser session.
    reply_text = journeys.new_marker("reply")
    reply_id = server.put_reply(report.reporter_id, reply_text)
    context = chromium.new_context()
    page = context.new_page()
    later_errors = journeys.watch_errors(page)
    journeys.log_in(page, wire.url, codename)
    logins = requests_to(wire.sent(), "POST", "/login")
    assert len(logins) == 1 and b"login_secret=" in logins[0]
    assert b"codename" not in logins[0]
    assert_wire_clean(wire.sent(), codename)

    body = page.locator(f"article.reply[data-reply-id='{reply_id}'] .reply-body")
    poll(lambda: body.inner_text().strip() == reply_text, "the reply to be decrypted in the page")
    assert page.locator("#decrypt-form").is_hidden()

    followup_text = journeys.new_marker("followup")
    followup_file, followup_body = journeys.write_attachment(
        tmp_path, journeys.new_marker("followupfile"), size=70_000)
    followups_before = len(server.envelopes("followup"))
    journeys.send_followup(page, followup_text, [followup_file])
    followups = server.wait_for_envelopes("followup", followups_before + 1)
    assert len(followups) == followups_before + 1
    followup = followups[-1]
    assert followup.reporter_id == report.reporter_id
    message = keys.decode_message(server.open_envelope(followup.id))
    assert isinstance(message, keys.FollowUp) and message.text == followup_text
    journeys.check_attachments(server, followup.id, message.attachments,
                               [(followup_file.name, followup_body)])
    assert b'name="mode"\r\n\r\nsealed\r\n' in requests_to(wire.sent(), "POST", "/followup")[0]
    assert_wire_clean(wire.sent(), followup_text, followup_file.name, followup_body[:64])

    journeys.delete_reply(page, reply_id)
    assert page.locator(f"article.reply[data-reply-id='{reply_id}']").count() == 0
    assert reply_id not in {e.id for e in server.envelopes("reply")}
    assert not (server.instance_dir / "envelopes" / reply_id).exists()

    assert page.evaluate("sessionStorage.length") == 1
    journeys.log_out(page)
    assert page.evaluate("sessionStorage.length") == 0
    page.goto(wire.url + "/inbox")
    assert page.locator("#logout-form").count() == 0
    context.close()
    assert not errors + later_errors, "\n".join(errors + later_errors)

    server.assert_logs_anonymous()
    assert_no_plaintext(server.at_rest_paths(), report_text, attachment_path.name,
                        attachment_body[:64], followup_text, followup_file.name,
                        followup_body[:64], reply_text, codename)


def test_emergency_shows_crisis_resources_before_and_after(
    chromium: Browser, reporter_server: ReporterServer, wire: WireTap
) -> None:
    context = chromium.new_context()
    page = context.new_page()
    page.goto(wire.url + "/submit")
    assert page.locator("#crisis-box").is_visible()
    text = journeys.new_marker("emergency")
    journeys.fill_report(page, text, [], urgency="emergency")
    journeys.submit_report(page)
    journeys.read_codename(page)
    # The form is gone; the crisis resources are still in view, in the panel.
    assert page.locator("#report-form").is_hidden()
    assert page.locator("#codename-panel #crisis-box").is_visible()
    assert page.locator("#codename-panel [role=alert]").is_visible()
    context.close()
    report = reporter_server.envelopes("report")[-1]
    assert report.emergency
    message = keys.decode_message(reporter_server.open_envelope(report.id))
    assert isinstance(message, keys.Report) and message.urgency == "emergency"
    assert_no_plaintext(reporter_server.at_rest_paths(), text)


def test_malformed_codename_is_refused_before_anything_is_sent(
    chromium: Browser, wire: WireTap
) -> None:
    context = chromium.new_context()
    page = context.new_page()
    page.goto(wire.url + "/login")
    wire.clear()
    field = page.locator("#login-form [name=codename]")
    field.fill("correct horse battery staple")
    page.locator("#login-form [type=submit]").click()
    status = page.locator("#login-form #form-status.error")
    status.wait_for(timeout=journeys.PAGE_TIMEOUT_MS)
    assert "8" in status.inner_text() or "word" in status.inner_text().lower()
    assert field.get_attribute("aria-invalid") == "true"
    context.close()
    assert requests_to(wire.sent(), "POST", "/login") == []


def test_reply_that_does_not_open_is_reported_not_shown(
    chromium: Browser, reporter_server: ReporterServer, wire: WireTap
) -> None:
    context = chromium.new_context()
    page = context.new_page()
    page.goto(wire.url + "/submit")
    journeys.fill_report(page, journeys.new_marker("wrongkey"), [])
    journeys.submit_report(page)
    codename = journeys.read_codename(page)
    reporter_id = reporter_server.envelopes("report")[-1].reporter_id
    stranger = keys.derive_codename(keys.generate_codename()).reply.public
    good = reporter_server.put_reply(reporter_id, "this one opens")
    bad = reporter_server.put_reply(reporter_id, "sealed to someone else", sealed_to=stranger)
    journeys.log_in(page, wire.url, codename)
    good_body = page.locator(f"article.reply[data-reply-id='{good}'] .reply-body")
    bad_body = page.locator(f"article.reply[data-reply-id='{bad}'] .reply-body")
    poll(lambda: "error" in (bad_body.get_attribute("class") or ""), "the failed reply")
    assert good_body.inner_text().strip() == "this one opens"
    assert "sealed to someone else" not in bad_body.inner_text()
    # The codename prompt stays, since not every reply could be opened.
    assert page.locator("#decrypt-form").is_visible()
    context.close()


def _parts_but_token(request: bytes) -> list[bytes]:
    """The multipart parts of a captured POST (each send has its own boundary), minus the
    csrf_token field."""
    head, body = request.split(b"\r\n\r\n", 1)
    boundary = re.search(rb"boundary=([^\r;]+)", head)
    assert boundary is not None, head
    return [part for part in body.split(b"--" + boundary[1])
            if b'name="csrf_token"' not in part]


def test_expired_session_is_renewed_and_the_same_envelopes_sent_again(
    chromium: Browser, reporter_server: ReporterServer, wire: WireTap
) -> None:
    """A form left open past its session (cookie gone) still sends: the refused post is
    followed by one fresh token and the same sealed body; nothing is lost or doubled.
    The login form does the same with a token that no longer matches its session."""
    server = reporter_server
    reports_before = len(server.envelopes("report"))
    context = chromium.new_context()
    page = context.new_page()
    errors = journeys.watch_errors(page)
    page.goto(wire.url + "/submit")
    text = journeys.new_marker("stale")
    journeys.fill_report(page, text, [])
    context.clear_cookies()  # as when the 4-hour anonymous session has ended
    wire.clear()
    journeys.submit_report(page)
    codename = journeys.read_codename(page)
    submits = requests_to(wire.sent(), "POST", "/submit")
    assert len(submits) == 2 and len(requests_to(wire.sent(), "GET", "/csrf-token")) == 1
    # The same envelopes both times: only the token differs.
    first, second = (_parts_but_token(request) for request in submits)
    assert first == second and any(b'name="report"' in part for part in first)
    reports = server.envelopes("report")
    assert len(reports) == reports_before + 1
    message = keys.decode_message(server.open_envelope(reports[-1].id))
    assert isinstance(message, keys.Report) and message.text == text

    page.goto(wire.url + "/login")
    form = page.locator("#login-form")
    form.locator("[name=csrf_token]").evaluate("field => { field.value = 'stale'; }")
    form.locator("[name=codename]").fill(codename)
    wire.clear()
    form.locator("[type=submit]").first.click()
    page.locator("#logout-form").wait_for(state="attached", timeout=journeys.PAGE_TIMEOUT_MS)
    assert len(requests_to(wire.sent(), "POST", "/login")) == 2
    context.close()
    # Chromium logs each refused post; nothing else may have gone wrong in the page.
    refused = [e for e in errors if "status of 400" in e and ("/submit'" in e or "/login'" in e)]
    assert len(refused) == 2 and len(errors) == 2, "\n".join(errors)
