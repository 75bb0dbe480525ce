"""A reporter's steps through the pages, in Playwright, shared by the JS-on and JS-off tests.

Selectors follow the DOM contract of the reporter templates (ids and names in
docs/ARCHITECTURE.md and the reporter brief), so a template that drifts from
it fails here.
"""

from __future__ import annotations

import hashlib
import re
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import ConsoleMessage, Page

import keys
from tests.browser.server import ReporterServer, StoredEnvelope
from tests.plaintext_scan import find_in_bytes

PAGE_TIMEOUT_MS = 60_000


def new_marker(label: str) -> str:
    """A unique string that must never be found at rest (letters and digits only)."""
    return f"zq{label}{uuid.uuid4().hex}"


def watch_errors(page: Page) -> list[str]:
    """Collect the page's script errors and console errors (CSP violations show up there)."""
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" and not message.location.get("url", "").endswith(
                "/favicon.ico"):
            errors.append(f"console: {message.text} at {message.location}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: errors.append(f"uncaught: {error}"))
    return errors


def assert_wire_clean(sent: list[bytes], *secrets: str | bytes) -> None:
    """None of `secrets` appears, in any encoding, in what the browser sent."""
    for number, stream in enumerate(sent):
        for secret in secrets:
            found = find_in_bytes(stream, secret)
            assert not found, f"connection {number} carried {secret!r} in the clear ({found})"


def requests_to(sent: list[bytes], method: str, path: str) -> list[bytes]:
    """The raw requests (head and body) `method path` found in the captured streams."""
    start = f"{method} {path} HTTP/1.1\r\n".encode()
    found = []
    for stream in sent:
        for piece in re.split(rb"(?=(?:GET|POST|HEAD) /[^ ]* HTTP/1\.1\r\n)", stream):
            if piece.startswith(start):
                found.append(piece)
    return found


def poll(predicate: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    """Wait for `predicate()` (page or server state) to become true, or fail naming `what`."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.1)


def write_attachment(directory: Path, marker: str, size: int = 200_000) -> tuple[Path, bytes]:
    """A file whose name and contents carry `marker`, a few chunks long."""
    body = (marker.encode() + b"\n") * (size // (len(marker) + 1))
    path = directory / f"{marker}.txt"
    path.write_bytes(body)
    return path, body


def fill_report(page: Page, text: str, files: list[Path], urgency: str = "normal") -> None:
    form = page.locator("#report-form")
    category = form.locator("select[name=category]")
    first_real = category.locator("option:not([value=''])").first.get_attribute("value")
    assert first_real, "the category select offers no category"
    category.select_option(first_real)
    form.locator(f"input[name=urgency][value={urgency}]").check()
    form.locator("[name=text]").fill(text)
    if files:
        form.locator("input[name=attachments]").set_input_files([str(f) for f in files])


def submit_report(page: Page) -> None:
    page.locator("#report-form [type=submit]").first.click()


def read_codename(page: Page) -> str:
    value = page.locator("#codename-value")
    value.wait_for(state="visible", timeout=PAGE_TIMEOUT_MS)
    codename = " ".join(value.inner_text().split())
    assert len(codename.split(" ")) == 8, f"not an 8-word codename: {codename!r}"
    return codename


def log_in(page: Page, base_url: str, codename: str) -> None:
    page.goto(base_url + "/login")
    form = page.locator("#login-form")
    form.locator("[name=codename]").fill(codename)
    form.locator("[type=submit]").first.click()
    # JS on: the page posts the login secret, then loads /inbox. JS off: the
    # POST's answer is the inbox itself. Either way the inbox's logout form appears.
    page.locator("#logout-form").wait_for(state="attached", timeout=PAGE_TIMEOUT_MS)


def send_followup(page: Page, text: str, files: list[Path]) -> None:
    form = page.locator("#followup-form")
    form.locator("[name=text]").fill(text)
    if files:
        form.locator("input[name=attachments]").set_input_files([str(f) for f in files])
    form.locator("[type=submit]").first.click()


def delete_reply(page: Page, reply_id: str) -> None:
    article = page.locator(f"article.reply[data-reply-id='{reply_id}']")
    with page.expect_navigation(timeout=PAGE_TIMEOUT_MS):
        article.locator("form[action$='/delete'] [type=submit]").first.click()


def log_out(page: Page) -> None:
    with page.expect_navigation(timeout=PAGE_TIMEOUT_MS):
        page.locator("form[action$='/logout'] [type=submit]").first.click()


# Checks on what the server stored ---------------------------------------------


def check_report(server: ReporterServer, report: StoredEnvelope, text: str,
                 attachments: list[tuple[str, bytes]], codename: str) -> keys.Report:
    """The stored report opens with the responder key to `text`, and its files to their bytes."""
    message = keys.decode_message(server.open_envelope(report.id))
    assert isinstance(message, keys.Report)
    assert message.text == text
    derived = keys.derive_codename(codename)
    assert str(message.reply_key) == str(derived.reply.public)
    assert server.reply_key_of(report.reporter_id) == str(derived.reply.public)
    check_attachments(server, report.id, message.attachments, attachments)
    return message


def check_attachments(server: ReporterServer, parent_id: str,
                      refs: tuple[keys.AttachmentRef, ...],
                      expected: list[tuple[str, bytes]]) -> None:
    stored = [e for e in server.envelopes("attachment") if e.parent_id == parent_id]
    assert len(stored) == len(expected) == len(refs)
    by_hash = {server.envelope_sha256(e.id): e for e in stored}
    for ref, (name, body) in zip(refs, expected, strict=True):
        assert ref.name == name
        assert ref.size == len(body)
        envelope = by_hash[ref.envelope_sha256]
        opened = server.open_envelope(envelope.id)
        assert hashlib.sha256(opened).digest() == hashlib.sha256(body).digest()
