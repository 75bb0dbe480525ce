"""Debian's firefox-esr, driven over Marionette (Playwright cannot drive stock ESR).

`FirefoxSession` starts `firefox-esr -marionette -headless -no-remote` on a
fresh profile whose `user.js` holds the prefs of the run (JavaScript on or
off, Tor Browser's "Safer" JIT-less settings), with its own TMPDIR, and
stops it by its own process group.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import warnings
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

with warnings.catch_warnings():
    # mozinfo calls distro.linux_distribution() at import time, which warns.
    warnings.simplefilter("ignore", DeprecationWarning)
    from marionette_driver.by import By
    from marionette_driver.marionette import Marionette

from tests.browser.journeys import poll
from tests.browser.server import free_port

FIREFOX = shutil.which("firefox-esr") or "/usr/bin/firefox-esr"
PAGE_TIMEOUT_S = 120.0

# What Tor Browser's "Safer" level turns off for non-HTTPS sites (onion
# services count as secure there, but the JIT settings are global).
SAFER_PREFS: dict[str, bool] = {
    "javascript.options.ion": False,
    "javascript.options.baselinejit": False,
    "javascript.options.native_regexp": False,
    "javascript.options.asmjs": False,
    "javascript.options.wasm": False,
}

QUIET_PREFS: dict[str, bool | int | str] = {
    "app.update.enabled": False,
    "app.update.auto": False,
    "browser.shell.checkDefaultBrowser": False,
    "browser.startup.homepage_override.mstone": "ignore",
    "browser.aboutwelcome.enabled": False,
    "datareporting.policy.dataSubmissionEnabled": False,
    "datareporting.healthreport.uploadEnabled": False,
    "toolkit.telemetry.enabled": False,
    "network.captive-portal-service.enabled": False,
    "network.connectivity-service.enabled": False,
    "extensions.update.enabled": False,
    "browser.safebrowsing.malware.enabled": False,
    "browser.safebrowsing.phishing.enabled": False,
    "browser.safebrowsing.downloads.enabled": False,
    "browser.newtabpage.enabled": False,
    "network.dns.disablePrefetch": True,
    "network.prefetch-next": False,
    "browser.region.network.url": "",
    "browser.search.geoip.url": "",
    "remote.prefs.recommended": True,
}


def _pref_line(name: str, value: bool | int | str) -> str:
    if isinstance(value, bool):
        rendered = "true" if value else "false"
    elif isinstance(value, int):
        rendered = str(value)
    else:
        rendered = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f'user_pref("{name}", {rendered});\n'


class FirefoxSession:
    """A running headless firefox-esr and a Marionette client connected to it."""

    def __init__(self, root: Path, *, javascript: bool, safer: bool = False,
                 extra_prefs: Mapping[str, bool | int | str] | None = None) -> None:
        self.root = root
        self.port = free_port()
        self.prefs: dict[str, bool | int | str] = {
            **QUIET_PREFS,
            "marionette.port": self.port,
            "javascript.enabled": javascript,
            **(SAFER_PREFS if safer else {}),
            **(extra_prefs or {}),  # e.g. a SOCKS proxy (tests/tor)
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.client: Marionette | None = None

    def __enter__(self) -> Marionette:
        profile = self.root / "profile"
        tmp = self.root / "tmp"
        profile.mkdir(parents=True)
        tmp.mkdir(parents=True)
        (profile / "user.js").write_text(
            "".join(_pref_line(k, v) for k, v in self.prefs.items()), encoding="utf-8")
        env = {**os.environ, "TMPDIR": str(tmp), "MOZ_HEADLESS": "1", "HOME": str(self.root)}
        with open(self.root / "firefox.log", "ab") as log:
            self.process = subprocess.Popen(
                [FIREFOX, "-marionette", "-remote-allow-system-access", "-headless", "-no-remote",
                 "-profile", str(profile)],
                env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        self._wait_for_marionette()
        self.client = Marionette(host="127.0.0.1", port=self.port, startup_timeout=60)
        self.client.start_session()
        return self.client

    def _wait_for_marionette(self, timeout: float = 60.0) -> None:
        # Marionette's own port poll leaks a socket per failed try (ResourceWarning).
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                log = (self.root / "firefox.log").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"firefox-esr exited early:\n{log}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.1)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.client is not None:
            try:
                self.client.delete_session()
            except Exception:
                pass
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)



# A reporter's steps in firefox-esr (the Playwright ones live in journeys.py) ----


def fill_report(client: Marionette, text: str, attachment: Path | None) -> None:
    """Fill the submit form (first real category, normal urgency) and send it."""
    form = client.find_element(By.ID, "report-form")
    option = form.find_element(By.CSS_SELECTOR, "select[name=category] option:not([value=''])")
    option.click()
    form.find_element(By.CSS_SELECTOR, "input[name=urgency][value=normal]").click()
    form.find_element(By.CSS_SELECTOR, "[name=text]").send_keys(text)
    if attachment is not None:
        form.find_element(By.CSS_SELECTOR, "input[name=attachments]").send_keys(str(attachment))
    form.find_element(By.CSS_SELECTOR, "[type=submit]").click()


def read_codename(client: Marionette, timeout: float = PAGE_TIMEOUT_S) -> str:
    """Wait for the shown codename and return it; fails unless it has 8 words."""
    def shown() -> bool:
        found = client.find_elements(By.ID, "codename-value")
        return bool(found) and found[0].is_displayed() and bool(found[0].text.strip())

    poll(shown, "the codename to be shown", timeout)
    codename = " ".join(client.find_element(By.ID, "codename-value").text.split())
    assert len(codename.split(" ")) == 8, f"not an 8-word codename: {codename!r}"
    return codename
