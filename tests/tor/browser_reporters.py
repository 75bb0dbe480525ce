"""Reporters in real browsers, through the client tor's SocksPort, to the reporter onion.

Chromium (Playwright, JavaScript on) and firefox-esr (Marionette, JavaScript
off) are the browsers of tests/browser, launched here with tor as their only
way out: Chromium with `--proxy-server=socks5://…` and a resolver rule that
makes every local name lookup fail, firefox-esr with SOCKS v5 prefs and
remote DNS. A `.onion` name cannot be resolved anywhere but inside tor, so a
page that loads at all came through the onion. One browser runs at a time.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import Browser, Page, sync_playwright

from tests.browser import journeys
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.browser.firefox import FirefoxSession, fill_report, read_codename
from tests.tor.conftest import TorNetwork

# After tests.browser.firefox, which silences marionette_driver's import-time warning.
from marionette_driver.by import By  # isort: skip
from marionette_driver.marionette import Marionette  # isort: skip

# Stock Chromium, unlike Tor Browser, does not count http://*.onion as a secure
# origin, so it ignores the Cross-Origin-Opener-Policy header and says so. That
# is the browser's rule, not a page fault; every other console error fails.
INSECURE_ORIGIN_NOTICE = "Cross-Origin-Opener-Policy header has been ignored"

# Every page load crosses a 3-hop (6 with the service side) circuit on a busy 2-core box.
PAGE_TIMEOUT_MS = 120_000


@dataclass(frozen=True)
class BrowserReport:
    """What one reporter sent and the codename their browser showed them."""

    browser: str
    text: str
    codename: str
    attachment: Path | None = None
    attachment_body: bytes = b""


@dataclass(frozen=True)
class BrowserReports:
    """The two reports of the journey: Chromium with JS on, firefox-esr with JS off."""

    chromium: BrowserReport
    firefox: BrowserReport

    def markers(self) -> list[str | bytes]:
        """Everything reporters typed or uploaded, and their codenames: never at rest."""
        found: list[str | bytes] = []
        for report in (self.chromium, self.firefox):
            found += [report.text, report.codename]
            if report.attachment is not None:
                found += [report.attachment.name, report.attachment_body[:64]]
        return found


@contextmanager
def chromium_through_tor(network: TorNetwork, downloads: Path) -> Iterator[Browser]:
    """Debian's Chromium whose only route out is the client tor's SocksPort."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *network.chromium_args],
            downloads_path=downloads)
        try:
            yield browser
        finally:
            browser.close()


def firefox_through_tor(network: TorNetwork, root: Path, *, javascript: bool) -> FirefoxSession:
    """A firefox-esr session (own profile and TMPDIR under `root`) proxied through tor."""
    return FirefoxSession(root, javascript=javascript, extra_prefs=network.firefox_prefs)


@contextmanager
def _chromium_page(browser: Browser) -> Iterator[Page]:
    """A fresh context (no cookies, no storage) and page; fails on any script error."""
    context = browser.new_context()
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    context.set_default_navigation_timeout(PAGE_TIMEOUT_MS)
    try:
        page = context.new_page()
        errors = journeys.watch_errors(page)
        yield page
        faults = [e for e in errors if INSECURE_ORIGIN_NOTICE not in e]
        assert not faults, "\n".join(faults)
    finally:
        context.close()


def chromium_submit(browser: Browser, base_url: str, text: str, attachment: Path) -> str:
    """Submit with JS on (sealed in the page) and one file; return the codename shown."""
    with _chromium_page(browser) as page:
        page.goto(base_url + "/submit")
        journeys.fill_report(page, text, [attachment])
        journeys.submit_report(page)
        codename = journeys.read_codename(page)
        # The sealed path ran: the panel took the form's place on the same page.
        assert page.locator("#codename-panel").is_visible()
        assert page.locator("#report-form").is_hidden()
    return codename


def chromium_replies(browser: Browser, base_url: str, codename: str, expected: str) -> list[str]:
    """Log in with JS on, wait until the page has decrypted a reply, return every reply text."""
    with _chromium_page(browser) as page:
        journeys.log_in(page, base_url, codename)
        bodies = page.locator("article.reply .reply-body")
        journeys.poll(lambda: expected in [t.strip() for t in bodies.all_inner_texts()],
                      f"a reply reading {expected!r} to be decrypted in the page",
                      PAGE_TIMEOUT_MS / 1000)
        return [t.strip() for t in bodies.all_inner_texts()]


def firefox_submit(client: Marionette, base_url: str, text: str) -> str:
    """Submit the plain HTML form (JS off); return the codename the answer page shows."""
    client.navigate(base_url + "/submit")
    fill_report(client, text, None)
    return read_codename(client)


def firefox_replies(client: Marionette, base_url: str, codename: str) -> list[str]:
    """Log in with JS off (the answer is the inbox, replies opened server-side); reply texts."""
    client.navigate(base_url + "/login")
    form = client.find_element(By.ID, "login-form")
    form.find_element(By.CSS_SELECTOR, "[name=codename]").send_keys(codename)
    form.find_element(By.CSS_SELECTOR, "[type=submit]").click()
    journeys.poll(lambda: bool(client.find_elements(By.ID, "logout-form")), "the inbox",
                  PAGE_TIMEOUT_MS / 1000)
    return [e.text.strip() for e in
            client.find_elements(By.CSS_SELECTOR, "article.reply .reply-body")]


def submit_from_both_browsers(network: TorNetwork, base_url: str, root: Path) -> BrowserReports:
    """One report from each browser through the reporter onion, one browser after the other."""
    attachment, body = journeys.write_attachment(root, journeys.new_marker("torfile"))
    chromium_text = journeys.new_marker("torchromium")
    with chromium_through_tor(network, root / "chromium-downloads") as browser:
        chromium_codename = chromium_submit(browser, base_url, chromium_text, attachment)
    firefox_text = journeys.new_marker("torfirefox")
    with firefox_through_tor(network, root / "firefox", javascript=False) as client:
        firefox_codename = firefox_submit(client, base_url, firefox_text)
    return BrowserReports(
        chromium=BrowserReport("chromium", chromium_text, chromium_codename, attachment, body),
        firefox=BrowserReport("firefox-esr", firefox_text, firefox_codename))
