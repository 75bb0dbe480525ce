"""Fixtures for the real-browser tests: a real reporter app under gunicorn, real browsers.

- `responder`: a test responder identity (the test keeps its secret to open envelopes).
- `reporter_server`: gunicorn serving the reporter app on a free port, one per module.
- `wire`: a recording relay in front of it, to scan what the browser sent.
- `chromium`: Debian's Chromium through Playwright, one per module (never `playwright install`).
- `new_firefox`: a factory for firefox-esr sessions over Marionette.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

import keys
from tests.browser.firefox import FirefoxSession
from tests.browser.server import ReporterServer
from tests.browser.wiretap import WireTap

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def responder() -> keys.ResponderIdentity:
    return keys.ResponderIdentity.generate()


@pytest.fixture(scope="module")
def reporter_server(
    tmp_path_factory: pytest.TempPathFactory, responder: keys.ResponderIdentity
) -> Iterator[ReporterServer]:
    server = ReporterServer(root=tmp_path_factory.mktemp("drop"), responder=responder).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def wire(reporter_server: ReporterServer) -> Iterator[WireTap]:
    """A recording relay in front of the server: browse `wire.url` to capture what is sent."""
    with WireTap(reporter_server.port) as tap:
        yield tap


@pytest.fixture(scope="module")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=CHROMIUM_ARGS,
            downloads_path=tmp_path_factory.mktemp("chromium-downloads"),
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def new_firefox(tmp_path: Path) -> Callable[..., FirefoxSession]:
    count = 0

    def make(*, javascript: bool, safer: bool = False) -> FirefoxSession:
        nonlocal count
        count += 1
        return FirefoxSession(tmp_path / f"firefox-{count}", javascript=javascript, safer=safer)

    return make
