"""Two backends, one reporter: sealed cookie sessions survive landing on the other machine.

Two real gunicorn servers share one instance directory (database, envelopes,
keyring, salt), as the backends behind Onionbalance share their volume
(deploy/README.md §3), each with its own runtime dir (its own tmpfs). One
`requests` session plays the reporter's browser: both servers are 127.0.0.1,
so the cookie goes to both, as it goes to every backend behind one onion
address. With one session key on both, a JS-off form fetched from A posts to
B, and a codename login made on A is logged in on B. Without a shared key
(different keys, or the default tmpfs store) the same flow fails on B. And a
backend whose key file others can read does not start.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

import keys
from tests.gunicorn_server import GunicornReporter
from tests.reporter_client import fetch_csrf

CODENAME_RE = re.compile(r'<output id="codename-value" class="codename">([^<]+)</output>')
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Backend(GunicornReporter):
    """A reporter server whose instance dir is the deployment's shared one."""

    shared_instance: Path | None = None

    @property
    def instance_dir(self) -> Path:
        assert self.shared_instance is not None
        return self.shared_instance


def key_file(path: Path) -> Path:
    path.write_bytes(secrets.token_bytes(32))
    os.chmod(path, 0o600)
    return path


@contextmanager
def two_backends(tmp_path: Path, key_a: Path | None,
                 key_b: Path | None) -> Iterator[tuple[Backend, Backend]]:
    shared = tmp_path / "shared-instance"
    shared.mkdir(mode=0o700)
    responder = keys.ResponderIdentity.generate()
    servers: list[Backend] = []
    try:
        for name, key in (("a", key_a), ("b", key_b)):
            env = {"DROPBOX_SESSION_KEY_FILE": str(key)} if key else {}
            server = Backend(tmp_path / name, responder, workers=1, threads=2, extra_env=env,
                             shared_instance=shared)
            servers.append(server)
            server.start()
        yield servers[0], servers[1]
    finally:
        for server in servers:
            server.stop()


def post_report(browser: requests.Session, url: str, token: str, text: str) -> requests.Response:
    """The JS-off submit form as a browser posts it (fields first, then the empty file input)."""
    return browser.post(
        f"{url}/submit",
        data={"csrf_token": token, "website": "", "category": "threats", "urgency": "normal",
              "text": text, "lang": ""},
        files=[("attachments", ("", b"", "application/octet-stream"))],
        timeout=60,
    )


def log_in(browser: requests.Session, url: str, codename: str) -> None:
    page = browser.get(f"{url}/login", timeout=60)
    token = CSRF_RE.search(page.text)
    assert token, "no CSRF token on /login"
    response = browser.post(f"{url}/login", data={"csrf_token": token.group(1),
                                                  "codename": codename}, timeout=60)
    assert response.status_code == 200, response.text[:500]


def test_form_from_one_backend_posts_to_the_other_and_login_carries_over(
    tmp_path: Path,
) -> None:
    shared_key = key_file(tmp_path / "session-key")
    with two_backends(tmp_path, shared_key, shared_key) as (a, b):
        browser = requests.Session()
        token = fetch_csrf(browser, a.url)
        response = post_report(browser, b.url, token, "written on A, sent through B")
        assert response.status_code == 200, response.text[:500]
        codename = CODENAME_RE.search(response.text)
        assert codename, "B did not acknowledge the report"

        fresh = requests.Session()
        log_in(fresh, a.url, codename.group(1).strip())
        inbox = fresh.get(f"{b.url}/inbox", allow_redirects=False, timeout=60)
        assert inbox.status_code == 200, inbox.headers.get("Location")

        logout_token = CSRF_RE.search(inbox.text)
        assert logout_token
        fresh.post(f"{b.url}/logout", data={"csrf_token": logout_token.group(1)}, timeout=60)
        assert fresh.get(f"{a.url}/inbox", allow_redirects=False, timeout=60).status_code == 303
        for server in (a, b):
            assert list(server.runtime_dir.iterdir()) == [], "a session was stored server-side"


@pytest.mark.parametrize("sessions", ["different keys", "tmpfs store"])
def test_without_a_shared_key_the_other_backend_refuses(tmp_path: Path, sessions: str) -> None:
    keys_ab = ((key_file(tmp_path / "key-a"), key_file(tmp_path / "key-b"))
               if sessions == "different keys" else (None, None))
    with two_backends(tmp_path, *keys_ab) as (a, b):
        browser = requests.Session()
        token = fetch_csrf(browser, a.url)
        response = post_report(browser, b.url, token, "written on A, sent through B")
        assert response.status_code == 400, response.text[:500]
        assert not CODENAME_RE.search(response.text)

        # B's answer may replace the cookie (the tmpfs store gives a new id): reload the form.
        ok = post_report(browser, a.url, fetch_csrf(browser, a.url), "sent to A itself")
        codename = CODENAME_RE.search(ok.text)
        assert ok.status_code == 200 and codename
        fresh = requests.Session()
        log_in(fresh, a.url, codename.group(1).strip())
        assert fresh.get(f"{a.url}/inbox", allow_redirects=False, timeout=60).status_code == 200
        assert fresh.get(f"{b.url}/inbox", allow_redirects=False, timeout=60).status_code == 303


def test_backend_with_a_readable_key_file_refuses_to_start(tmp_path: Path) -> None:
    readable = key_file(tmp_path / "session-key")
    os.chmod(readable, 0o644)
    shared = tmp_path / "shared-instance"
    shared.mkdir(mode=0o700)
    server = Backend(tmp_path / "a", keys.ResponderIdentity.generate(), workers=1, threads=1,
                     extra_env={"DROPBOX_SESSION_KEY_FILE": str(readable)},
                     shared_instance=shared)
    try:
        with pytest.raises(RuntimeError, match="gunicorn exited early"):
            server.start()
    finally:
        server.stop()
    assert "DROPBOX_SESSION_KEY_FILE" in server.logs()
    assert "readable by group or others" in server.logs()
