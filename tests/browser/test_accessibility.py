"""Every reporter page passes axe-core (no serious or critical violation) and fits 320 px.

Each run walks the whole reporter journey (intro, safety, support, codename
notice, submit, the codename shown after it, login, a failed login, the inbox
with a reply, a follow-up) with JavaScript on and off, in English (LTR) and
Arabic (RTL), at a phone width (320x640) and a desktop width.

axe is injected with `bypass_csp=True`: that context exists only for this
check; the journeys in the other modules run under the real CSP. axe needs
script to run, so "JavaScript off" here means the page's own scripts are
blocked from loading, which leaves exactly the server-rendered DOM (the
templates use no <noscript>).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize

from tests.browser import journeys
from tests.browser.server import REPO, ReporterServer

AXE_SOURCE = (REPO / "node_modules" / "axe-core" / "axe.min.js").read_text(encoding="utf-8")
PHONE: ViewportSize = {"width": 320, "height": 640}
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
RUN_AXE = """
axe.run(document, {resultTypes: ['violations']}).then(result => result.violations
  .filter(v => v.impact === 'serious' || v.impact === 'critical')
  .map(v => ({id: v.id, impact: v.impact, help: v.help,
              nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))})))
"""


class PageAudit:
    """Collects axe violations and horizontal overflow for each page state visited."""

    def __init__(self, page: Page, lang: str, width: int) -> None:
        self.page = page
        self.lang = lang
        self.width = width
        self.problems: list[str] = []
        self.visited: list[str] = []

    def check(self, label: str) -> None:
        page = self.page
        page.wait_for_load_state("load")
        self.visited.append(label)
        expected_dir = "rtl" if self.lang == "ar" else "ltr"
        actual_dir = page.evaluate("document.documentElement.dir")
        if actual_dir != expected_dir:
            self.problems.append(f"{label}: <html dir={actual_dir!r}>, expected {expected_dir!r}")
        page.add_script_tag(content=AXE_SOURCE)
        for violation in page.evaluate(RUN_AXE):
            self.problems.append(f"{label}: axe {violation['impact']} {violation['id']}: "
                                 f"{violation['help']} at {violation['nodes']}")
        scroll_width = page.evaluate("document.documentElement.scrollWidth")
        if scroll_width > self.width:
            self.problems.append(f"{label}: scrolls sideways ({scroll_width}px > {self.width}px)")


def _context(browser: Browser, viewport: ViewportSize, javascript: bool) -> BrowserContext:
    context = browser.new_context(viewport=viewport, bypass_csp=True)  # for axe only
    if not javascript:
        context.route("**/static/js/*.js", lambda route: route.abort())
    return context


@pytest.fixture
def attachment(tmp_path: Path) -> Iterator[Path]:
    path, _ = journeys.write_attachment(tmp_path, journeys.new_marker("a11y"), size=1000)
    yield path


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["320px", "1280px"])
@pytest.mark.parametrize("lang", ["en", "ar"])
@pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])
def test_every_page_is_accessible(
    chromium: Browser, reporter_server: ReporterServer, attachment: Path,
    javascript: bool, lang: str, viewport: ViewportSize,
) -> None:
    server = reporter_server
    context = _context(chromium, viewport, javascript)
    page = context.new_page()
    audit = PageAudit(page, lang, viewport["width"])

    page.goto(f"{server.url}/?lang={lang}")
    audit.check("intro")
    for path in ("/safety", "/support", "/codename", "/login"):
        page.goto(server.url + path)
        audit.check(path)

    page.goto(server.url + "/submit")
    audit.check("/submit")
    journeys.fill_report(page, journeys.new_marker("a11ytext"), [attachment], urgency="urgent")
    journeys.submit_report(page)
    codename = journeys.read_codename(page)
    audit.check("codename shown after submit")

    reporter_id = server.envelopes("report")[-1].reporter_id
    server.put_reply(reporter_id, "Thank you. We have read your report and will write again.")
    page.goto(server.url + "/login")
    page.locator("#login-form [name=codename]").fill("not a real codename at all")
    page.locator("#login-form [type=submit]").first.click()
    page.locator("#login-form .field-error, #login-form #form-status.error").first.wait_for(
        timeout=journeys.PAGE_TIMEOUT_MS)
    audit.check("failed login")

    journeys.log_in(page, server.url, codename)
    body = page.locator("article.reply .reply-body").first
    journeys.poll(lambda: "Thank you" in body.inner_text(), "the reply to be readable")
    audit.check("inbox with a reply")

    followups = len(server.envelopes("followup"))
    if javascript:
        journeys.send_followup(page, journeys.new_marker("a11yfollow"), [])
        server.wait_for_envelopes("followup", followups + 1)
        form = page.locator("#followup-form")
        journeys.poll(lambda: form.get_attribute("aria-busy") == "false",
                      "the follow-up to be sent")
    else:
        with page.expect_navigation(timeout=journeys.PAGE_TIMEOUT_MS):
            journeys.send_followup(page, journeys.new_marker("a11yfollow"), [])
    audit.check("after a follow-up")
    context.close()

    assert not audit.problems, "\n".join(audit.problems)
