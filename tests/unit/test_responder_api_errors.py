"""Failures inside the responder API: typed JSON answers, and logs without request details."""

from __future__ import annotations

import logging

import pytest

from dropbox.responder_api import items
from tests.journalist_support import ApiEnv


def test_an_unexpected_error_is_logged_by_its_type_only(
        api: ApiEnv, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    reporter = api.add_reporter()
    envelope_id = api.add_envelope(reporter, b"ciphertext")

    def failing(*_args: object) -> None:
        raise RuntimeError(f"cannot list {envelope_id} of {reporter}")

    monkeypatch.setattr(items, "envelope_json", failing)
    api.app.testing = False  # as deployed: nothing propagates to the server
    with caplog.at_level(logging.DEBUG):
        response = api.call("GET", "/api/v1/items?after=0")
    assert response.status_code == 500
    assert "internal server error" in response.get_json()["error"]
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [(r.name, r.getMessage()) for r in errors] == [
        ("dropbox.responder_api",
         "unexpected RuntimeError while handling a responder API request")]
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert envelope_id not in logged and reporter not in logged and "/api/v1" not in logged
    assert all(r.exc_info is None and r.exc_text is None for r in caplog.records)


@pytest.mark.parametrize("cursor", [
    "%C2%B2",               # superscript two: isdigit() is true, int() raises
    "%D9%A1%D9%A2",         # Arabic-Indic "12": isdigit() and int() both accept it
    "1" * 19, "", "-1", "+1", "%201", "1%0A", "0x1", "1.0",
])
@pytest.mark.parametrize("path", ["/api/v1/items", "/api/v1/counts"])
def test_a_cursor_other_than_ascii_digits_is_a_400(api: ApiEnv, path: str, cursor: str) -> None:
    response = api.call("GET", f"{path}?after={cursor}")
    assert (response.status_code, response.get_json()) == (400, {"error": "bad request"})


def test_an_eighteen_digit_cursor_is_accepted(api: ApiEnv) -> None:
    """Beyond any seq (a 32-bit column on PostgreSQL), yet a valid cursor: nothing after it."""
    api.add_envelope(api.add_reporter(), b"ciphertext")
    cursor = 9 * 10**17 + 1
    counts = api.call("GET", f"/api/v1/counts?after={cursor}")
    assert counts.get_json() == {"new": 0, "emergency": 0, "latest": 1}
    listed = api.call("GET", f"/api/v1/items?after={cursor}")
    assert listed.get_json() == {"items": [], "next_after": cursor, "more": False}
