"""Chromium with JavaScript off: the plain forms do everything, and the server seals on arrival.

Same journey as with JS on; what lands on disk must decrypt with the
responder key and hold no plaintext.
"""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser

import keys
from tests.browser import journeys
from tests.browser.server import ReporterServer
from tests.plaintext_scan import assert_no_plaintext


def test_plain_forms_submit_reply_followup_delete_logout(
    chromium: Browser, reporter_server: ReporterServer, tmp_path: Path
) -> None:
    server = reporter_server
    report_text = journeys.new_marker("report")
    attachment_path, attachment_body = journeys.write_attachment(
        tmp_path, journeys.new_marker("file"))
    reports_before = len(server.envelopes("report"))

    context = chromium.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(server.url + "/submit")
    journeys.fill_report(page, report_text, [attachment_path])
    with page.expect_navigation(timeout=journeys.PAGE_TIMEOUT_MS):
        journeys.submit_report(page)
    codename = journeys.read_codename(page)
    context.close()

    reports = server.envelopes("report")
    assert len(reports) == reports_before + 1
    report = reports[-1]
    journeys.check_report(server, report, report_text,
                          [(attachment_path.name, attachment_body)], codename)

    reply_text = journeys.new_marker("reply")
    reply_id = server.put_reply(report.reporter_id, reply_text)
    context = chromium.new_context(java_script_enabled=False)
    page = context.new_page()
    journeys.log_in(page, server.url, codename)
    reply = page.locator(f"article.reply[data-reply-id='{reply_id}'] .reply-body")
    assert reply.inner_text().strip() == reply_text

    followup_text = journeys.new_marker("followup")
    followup_file, followup_body = journeys.write_attachment(
        tmp_path, journeys.new_marker("followupfile"), size=70_000)
    followups_before = len(server.envelopes("followup"))
    with page.expect_navigation(timeout=journeys.PAGE_TIMEOUT_MS):
        journeys.send_followup(page, followup_text, [followup_file])
    followups = server.envelopes("followup")
    assert len(followups) == followups_before + 1
    message = keys.decode_message(server.open_envelope(followups[-1].id))
    assert isinstance(message, keys.FollowUp) and message.text == followup_text
    journeys.check_attachments(server, followups[-1].id, message.attachments,
                               [(followup_file.name, followup_body)])

    page.goto(server.url + "/inbox")
    journeys.delete_reply(page, reply_id)
    assert page.locator(f"article.reply[data-reply-id='{reply_id}']").count() == 0
    assert reply_id not in {e.id for e in server.envelopes("reply")}
    assert not (server.instance_dir / "envelopes" / reply_id).exists()

    journeys.log_out(page)
    page.goto(server.url + "/inbox")
    assert page.locator("#followup-form").count() == 0
    context.close()

    server.assert_logs_anonymous()
    assert_no_plaintext(server.at_rest_paths(), report_text, attachment_path.name,
                        attachment_body[:64], followup_text, followup_file.name,
                        followup_body[:64], reply_text, codename)


def test_emergency_shows_crisis_resources_before_and_after(
    chromium: Browser, reporter_server: ReporterServer
) -> None:
    context = chromium.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(reporter_server.url + "/submit")
    assert page.locator("#crisis-box").is_visible()
    text = journeys.new_marker("emergency")
    journeys.fill_report(page, text, [], urgency="emergency")
    with page.expect_navigation(timeout=journeys.PAGE_TIMEOUT_MS):
        journeys.submit_report(page)
    journeys.read_codename(page)
    assert page.locator("#crisis-box").is_visible()
    assert page.locator("main [role=alert]").first.is_visible()
    context.close()
    report = reporter_server.envelopes("report")[-1]
    assert report.emergency
    assert_no_plaintext(reporter_server.at_rest_paths(), text)
