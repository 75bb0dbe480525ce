"""Real browsers reach the reporter onion through the private Tor network and submit.

The two submissions are made once per session by the `browser_reports` fixture
(tests/tor/conftest.py): Chromium with JavaScript on and a file, firefox-esr
with JavaScript off, each with tor as its only route (tests/tor/browser_reporters.py).
Both must have shown a codename. Here: what reached the server is exactly what
was sent, sealed to the responder, tied to the codename's reply key.
"""

from __future__ import annotations

import keys
from tests.browser import journeys
from tests.browser.server import ReporterServer, StoredEnvelope
from tests.tor.browser_reporters import BrowserReport, BrowserReports
from tests.tor.conftest import OnionDrop


def stored_drop(drop: OnionDrop) -> ReporterServer:
    """The onion drop's instance, read through tests/browser's (not started) server helper."""
    return ReporterServer(root=drop.instance_dir.parent, responder=drop.responder)


def stored_report(server: ReporterServer, report: BrowserReport) -> StoredEnvelope:
    """The one stored report that opens to `report.text` (other tests share the instance)."""
    found = []
    for envelope in server.envelopes("report"):
        message = keys.decode_message(server.open_envelope(envelope.id))
        if isinstance(message, keys.Report) and message.text == report.text:
            found.append(envelope)
    assert len(found) == 1, f"{len(found)} stored reports read {report.text!r}"
    return found[0]


def test_chromium_with_javascript_seals_a_report_and_a_file_through_the_onion(
        browser_reports: BrowserReports, journey_drop: OnionDrop) -> None:
    sent = browser_reports.chromium
    assert sent.attachment is not None
    server = stored_drop(journey_drop)
    envelope = stored_report(server, sent)
    journeys.check_report(server, envelope, sent.text,
                          [(sent.attachment.name, sent.attachment_body)], sent.codename)


def test_firefox_without_javascript_submits_the_plain_form_through_the_onion(
        browser_reports: BrowserReports, journey_drop: OnionDrop) -> None:
    sent = browser_reports.firefox
    server = stored_drop(journey_drop)
    envelope = stored_report(server, sent)
    message = journeys.check_report(server, envelope, sent.text, [], sent.codename)
    assert message.attachments == ()
    assert browser_reports.firefox.codename != browser_reports.chromium.codename
    assert envelope.reporter_id != stored_report(server, browser_reports.chromium).reporter_id
