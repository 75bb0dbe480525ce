"""Hardening of the reporter app: headers, cookies, CSRF, methods, templates, language.

Every route is fetched and every response checked, including error pages and
POST responses; templates are rendered and searched for inline script/style.
"""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient
from werkzeug.wrappers import Response as BaseResponse

from dropbox.security import CONTENT_SECURITY_POLICY
from dropbox.sessions import COOKIE_NAME
from tests.unit.conftest import ReporterEnv, csrf_token, make_reporter_env, post_multipart
from tests.unit.test_reporter_sealed import assert_nothing_kept

PAGES = ["/", "/submit", "/login", "/safety", "/support", "/codename"]
EXPECTED_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}


def assert_hardened(response: BaseResponse, *, page: bool = True) -> None:
    for name, value in EXPECTED_HEADERS.items():
        assert response.headers.get(name) == value, name
    assert "X-Powered-By" not in response.headers
    assert "Server" not in response.headers
    if page:
        assert "no-store" in response.headers["Cache-Control"]


def test_csp_constant_is_the_required_policy() -> None:
    assert CONTENT_SECURITY_POLICY == EXPECTED_HEADERS["Content-Security-Policy"]


@pytest.mark.parametrize("path", [*PAGES, "/keys.json", "/csrf-token", "/inbox", "/no-such-page"])
def test_every_get_route_is_hardened(client: FlaskClient, path: str) -> None:
    assert_hardened(client.get(path))


def test_static_and_post_and_error_responses_are_hardened(client: FlaskClient) -> None:
    with client.get("/static/css/drop.css") as css:
        assert css.status_code == 200
        assert_hardened(css, page=False)
    assert_hardened(client.post("/login", data={"codename": "x"}))  # CSRF failure page
    assert_hardened(client.put("/"))
    token = csrf_token(client, "/login")
    assert_hardened(client.post("/login", data={"csrf_token": token, "codename": "a b"}))
    assert_hardened(post_multipart(client, "/submit", [("csrf_token", "bad")]))


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"])
@pytest.mark.parametrize("path", ["/", "/submit", "/login", "/no-such-page"])
def test_only_get_head_post(client: FlaskClient, method: str, path: str) -> None:
    response = client.open(path, method=method)
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, HEAD, POST"


def test_head_is_allowed(client: FlaskClient) -> None:
    assert client.head("/").status_code == 200


def test_session_cookie_is_opaque_strict_and_session_only(
    reporter_env: ReporterEnv, client: FlaskClient
) -> None:
    response = client.get("/submit")
    [header] = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(COOKIE_NAME)]
    attributes = [part.strip().lower() for part in header.split(";")]
    assert "httponly" in attributes
    assert "samesite=strict" in attributes
    assert not any(a.startswith(("expires", "max-age")) for a in attributes)
    value = header.split(";", 1)[0].split("=", 1)[1]
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", value)
    # The CSRF secret lives server-side: the cookie is an opaque id, not signed data.
    assert "." not in value
    sessions_file = reporter_env.config.sessions_path
    assert sessions_file.is_relative_to(reporter_env.config.runtime_dir)
    assert value.encode() not in sessions_file.read_bytes()


def test_unknown_cookie_gets_a_fresh_session(client: FlaskClient) -> None:
    client.set_cookie(COOKIE_NAME, "forged-session-id")
    response = client.get("/submit")
    assert "forged-session-id" not in response.headers.get("Set-Cookie", "")
    cookie = client.get_cookie(COOKIE_NAME)
    assert cookie is not None and cookie.value != "forged-session-id"


@pytest.mark.parametrize("path", ["/login", "/logout", "/reply/" + "0" * 32 + "/delete"])
def test_csrf_required_on_plain_posts(client: FlaskClient, path: str) -> None:
    client.get("/login")
    assert client.post(path, data={"codename": "x"}).status_code == 400


def test_stale_token_is_named_for_the_page_script_which_can_fetch_a_fresh_one(
    client: FlaskClient,
) -> None:
    client.get("/login")
    json = {"Accept": "application/json"}
    refused = client.post("/login", data={"csrf_token": "stale", "login_secret": "00" * 32},
                          headers=json)
    assert refused.status_code == 400 and refused.get_json()["code"] == "csrf"
    fresh = client.get("/csrf-token", headers=json)
    assert "Access-Control-Allow-Origin" not in fresh.headers
    token = fresh.get_json()["csrf_token"]
    assert re.fullmatch(r"[A-Za-z0-9_.-]{16,512}", token)  # what js/src/app/token.js accepts
    accepted = client.post("/login", data={"csrf_token": token, "login_secret": "00" * 32},
                           headers=json)
    assert accepted.status_code != 400 and "code" not in accepted.get_json()
    sealed = post_multipart(client, "/submit", [("mode", "sealed"), ("csrf_token", "stale")])
    assert sealed.status_code == 400 and sealed.get_json()["code"] == "csrf"


def test_csrf_required_on_uploads_before_any_file_is_written(
    reporter_env: ReporterEnv, client: FlaskClient
) -> None:
    client.get("/submit")
    other = reporter_env.client()
    foreign_token = csrf_token(other)
    for token in ("", "nonsense", foreign_token):
        response = post_multipart(
            client,
            "/submit",
            [
                ("csrf_token", token),
                ("category", "other"),
                ("text", "hello"),
                ("attachments", (b"data", "f.txt", "text/plain")),
            ],
        )
        assert response.status_code == 400
        assert "expired" in response.get_data(as_text=True)
    missing_token_first = [
        ("attachments", (b"data", "f.txt", "text/plain")),
        ("csrf_token", csrf_token(client)),
    ]
    assert post_multipart(client, "/submit", missing_token_first).status_code == 400  # type: ignore[arg-type]
    assert_nothing_kept(reporter_env)


@pytest.mark.parametrize("size", [10, 100_000])
def test_werkzeug_never_parses_uploads_elsewhere(
    reporter_env: ReporterEnv, client: FlaskClient, size: int
) -> None:
    token = csrf_token(client, "/login")
    response = post_multipart(
        client, "/login", [("csrf_token", token), ("codename", (b"x" * size, "f", "text/plain"))]
    )
    assert response.status_code in (400, 413)
    assert list(reporter_env.system_tmp.iterdir()) == []


def _rendered_pages(client: FlaskClient) -> list[str]:
    return [client.get(path).get_data(as_text=True) for path in PAGES]


def test_no_inline_script_or_style_and_both_bundles_included(client: FlaskClient) -> None:
    for html in _rendered_pages(client):
        assert not re.search(r"<script(?![^>]*\bsrc=)", html)
        assert "<style" not in html
        assert not re.search(r"\sstyle=", html)
        assert not re.search(r"\son[a-z]+=", html)
        assert '<script src="/static/js/drop-crypto.js" defer></script>' in html
        assert '<script src="/static/js/drop-app.js" defer></script>' in html
        assert 'data-recipients-url="/keys.json"' in html
        assert 'class="skip-link" href="#main"' in html
        assert "http://" not in html.replace('href="http://', "")  # no third-party loads


def test_dom_contract_of_the_submit_and_login_pages(client: FlaskClient) -> None:
    submit = client.get("/submit").get_data(as_text=True)
    assert (
        '<form id="report-form" method="post" action="/submit" '
        'enctype="multipart/form-data"' in submit
    )
    for needle in (
        '<select id="field-category" name="category"',
        'type="radio" id="urgency-normal" name="urgency" value="normal"',
        'name="urgency" value="urgent"',
        'name="urgency" value="emergency"',
        '<textarea id="field-text" name="text"',
        '<select id="field-lang" name="lang"',
        'type="file" id="field-attachments" name="attachments" multiple',
        'name="website" value="" tabindex="-1"',
        '<section id="codename-panel" hidden',
        '<output id="codename-value"',
        'href="/login"',
        '<div id="form-status" role="status" aria-live="polite">',
    ):
        assert needle in submit, needle
    # The CSRF token is the form's first part, so uploads can check it before any file.
    form = submit.split('id="report-form"', 1)[1]
    assert form.index('name="csrf_token"') < form.index('name="attachments"')
    login = client.get("/login").get_data(as_text=True)
    assert '<form id="login-form" method="post" action="/login">' in login
    assert 'name="codename"' in login and 'name="csrf_token"' in login


def test_empty_keyring_says_not_accepting(tmp_path: object) -> None:
    from pathlib import Path

    env = make_reporter_env(Path(str(tmp_path)), with_keyring=False)
    client = env.client()
    page = client.get("/submit").get_data(as_text=True)
    assert 'id="not-accepting"' in page
    assert client.get("/keys.json").get_json() == {"recipients": []}
    response = post_multipart(
        client,
        "/submit",
        [("csrf_token", csrf_token(client, "/login")), ("category", "other"), ("text", "hi"),
         ("attachments", (b"", "", "application/octet-stream"))],
    )
    assert response.status_code == 503
    env.services.database.engine.dispose()


def test_keys_json_lists_the_keyring(reporter_env: ReporterEnv, client: FlaskClient) -> None:
    assert client.get("/keys.json").get_json() == {
        "recipients": [str(reporter_env.identity.public)]
    }


def test_language_selector_accept_language_and_rtl(
    tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pathlib import Path

    import dropbox.i18n

    monkeypatch.setattr(dropbox.i18n, "available_locales", lambda: ["en", "ar", "fa", "de"])
    env = make_reporter_env(Path(str(tmp_path)))
    client = env.client()
    page = client.get("/", headers={"Accept-Language": "fa, en;q=0.5"}).get_data(as_text=True)
    assert '<html lang="fa" dir="rtl">' in page
    page = client.get("/?lang=ar").get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in page
    assert '<option value="ar" lang="ar" selected>' in page
    # Remembered for the session, without JavaScript.
    assert '<html lang="ar" dir="rtl">' in client.get("/submit").get_data(as_text=True)
    assert '<html lang="de" dir="ltr">' in client.get("/?lang=de").get_data(as_text=True)
    env.services.database.engine.dispose()
