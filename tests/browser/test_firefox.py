"""Firefox ESR (Tor Browser's base): the plain forms with JavaScript off, and the
sealed path with JavaScript on under Tor Browser's "Safer" settings (no JIT,
no wasm), where the codename derivation must still be quick (HKDF, not a
memory-hard KDF).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import keys
from tests.browser import journeys
from tests.browser.firefox import PAGE_TIMEOUT_S as TIMEOUT_S
from tests.browser.firefox import FirefoxSession, fill_report, read_codename
from tests.browser.journeys import poll
from tests.browser.server import ReporterServer
from tests.plaintext_scan import assert_no_plaintext

# After tests.browser.firefox, which silences marionette_driver's import-time warning.
from marionette_driver.by import By  # isort: skip


def test_plain_forms_submit_and_come_back(
    new_firefox: Callable[..., FirefoxSession], reporter_server: ReporterServer, tmp_path: Path
) -> None:
    server = reporter_server
    text = journeys.new_marker("ffreport")
    attachment, body = journeys.write_attachment(tmp_path, journeys.new_marker("fffile"))
    reports_before = len(server.envelopes("report"))
    with new_firefox(javascript=False) as client:
        client.navigate(server.url + "/submit")
        fill_report(client, text, attachment)
        codename = read_codename(client)
        reports = server.envelopes("report")
        assert len(reports) == reports_before + 1
        journeys.check_report(server, reports[-1], text, [(attachment.name, body)], codename)

        reply_text = journeys.new_marker("ffreply")
        reply_id = server.put_reply(reports[-1].reporter_id, reply_text)
        client.delete_all_cookies()
        client.navigate(server.url + "/login")
        form = client.find_element(By.ID, "login-form")
        form.find_element(By.CSS_SELECTOR, "[name=codename]").send_keys(codename)
        form.find_element(By.CSS_SELECTOR, "[type=submit]").click()
        # With JS off the answer to the POST is the inbox itself, replies opened.
        poll(lambda: bool(client.find_elements(By.ID, "logout-form")), "the inbox", TIMEOUT_S)
        reply = client.find_element(
            By.CSS_SELECTOR, f"article.reply[data-reply-id='{reply_id}'] .reply-body")
        assert reply.text.strip() == reply_text
    assert_no_plaintext(server.at_rest_paths(), text, attachment.name, body[:64], reply_text,
                        codename)


def test_safer_settings_sealed_submit(
    new_firefox: Callable[..., FirefoxSession], reporter_server: ReporterServer, tmp_path: Path
) -> None:
    server = reporter_server
    text = journeys.new_marker("safer")
    attachment, body = journeys.write_attachment(tmp_path, journeys.new_marker("saferfile"),
                                                 size=100_000)
    reports_before = len(server.envelopes("report"))
    with new_firefox(javascript=True, safer=True) as client:
        assert client.get_pref("javascript.options.ion") is False
        client.navigate(server.url + "/submit")
        millis = client.execute_script(
            "const c = window.wrappedJSObject.DropCrypto;"
            "const t = performance.now(); c.deriveCodename(c.generateCodename());"
            "return performance.now() - t;")
        print(f"codename derivation under Safer prefs: {millis:.0f} ms")
        fill_report(client, text, attachment)
        codename = read_codename(client)
        # The sealed path ran: the codename appeared in the submit page's own
        # panel, in place of the form (the plain path renders a new page).
        assert client.find_element(By.ID, "codename-panel").is_displayed()
        assert not client.find_element(By.ID, "report-form").is_displayed()
    reports = server.envelopes("report")
    assert len(reports) == reports_before + 1
    journeys.check_report(server, reports[-1], text, [(attachment.name, body)], codename)
    message = keys.decode_message(server.open_envelope(reports[-1].id))
    assert isinstance(message, keys.Report)
    assert_no_plaintext(server.at_rest_paths(), text, attachment.name, body[:64], codename)
