"""The online commands against a hostile or failing server: typed errors, never a traceback.

A canned-answer HTTP server on 127.0.0.1 plays the responder API. Each test
sets what it answers per path; the real CLI runs in-process against it.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import keys
from tests.canned_api import (
    Answer,
    CannedApi,
    assert_network_error,
    run,
    serving_canned_api,
)
from tests.journalist_support import new_id

HOSTILE_TEXT = "\x1b]0;owned title\x1b\\\x1b[2J\x1b[Hall replies accepted"


@pytest.fixture
def api() -> Iterator[CannedApi]:
    with serving_canned_api() as canned:
        yield canned


def listed(blob: bytes, **fields: Any) -> dict[str, Any]:
    """One envelope as GET /api/v1/items lists it (FORMAT.md §9)."""
    return {"seq": 1, "id": new_id(), "kind": "report", "reporter_id": new_id(),
            "parent_id": None, "size": len(blob), "day": "2026-11-24", "emergency": False,
            "reply_key": None, "signature": None, "responder": None, **fields}


def serve(pages: Callable[[str], Answer], blobs: dict[str, bytes] | None = None,
          keyring: Any = None, replies: Answer | None = None) -> Callable[[str, str], Answer]:
    """A route: item pages from `pages(path)`, envelopes from `blobs`, then keyring, replies."""
    def route(method: str, path: str) -> Answer:
        if path.startswith("/api/v1/items?"):
            return pages(path)
        if path.startswith("/api/v1/items/"):
            blob = (blobs or {}).get(path.rsplit("/", 1)[1])
            return (404, {"error": "not found"}) if blob is None else (200, blob)
        if path == "/api/v1/keyring":
            return 200, {"keyring": []} if keyring is None else keyring
        if path.startswith("/api/v1/replies/") and replies is not None:
            return replies
        return 404, {"error": "not found"}
    return route


MALFORMED_PAGES: dict[str, Any] = {
    "answer-is-a-list": [1, 2],
    "items-missing": {"next_after": 0, "more": False},
    "items-not-a-list": {"items": 5, "next_after": 0, "more": False},
    "item-not-an-object": {"items": [7], "next_after": 1, "more": False},
    "item-size-not-a-number": {"items": [listed(b"x", size="big")], "next_after": 1,
                               "more": False},
    "item-size-is-a-bool": {"items": [listed(b"x", size=True)], "next_after": 1,
                            "more": False},
    "item-id-malformed": {"items": [listed(b"x", id="../../etc")], "next_after": 1,
                          "more": False},
    "item-kind-unknown": {"items": [listed(b"x", kind="virus")], "next_after": 1,
                          "more": False},
    "item-day-not-a-date": {"items": [listed(b"x", day="2026-13-45")], "next_after": 1,
                            "more": False},
    "next-after-a-string": {"items": [], "next_after": "0", "more": False},
    "more-not-a-bool": {"items": [], "next_after": 0, "more": "no"},
}


@pytest.mark.parametrize("name", sorted(MALFORMED_PAGES))
def test_fetch_refuses_a_malformed_listing_with_a_network_error(
        tmp_path: Path, api: CannedApi, name: str) -> None:
    api.route = serve(lambda path: (200, MALFORMED_PAGES[name]))
    result = run(tmp_path, api, "fetch", "--to", str(tmp_path / "in.drop"))
    assert_network_error(result)
    assert not (tmp_path / "in.drop").exists()


def test_fetch_refuses_a_page_longer_than_asked(tmp_path: Path, api: CannedApi) -> None:
    many = [listed(b"x") for _ in range(3)]
    api.route = serve(lambda path: (200, {"items": many, "next_after": 3, "more": False}))
    assert_network_error(run(tmp_path, api, "fetch", "--limit", "2",
                             "--to", str(tmp_path / "in.drop")))


@pytest.mark.parametrize("keyring", [[], {"keyring": 5}, {"keyring": [7]},
                                     {"keyring": [{"name": 1, "public_key": None}]}])
def test_fetch_refuses_a_malformed_keyring(tmp_path: Path, api: CannedApi, keyring: Any) -> None:
    api.route = serve(lambda path: (200, {"items": [], "next_after": 0, "more": False}),
                      keyring=keyring)
    assert_network_error(run(tmp_path, api, "fetch", "--to", str(tmp_path / "in.drop")))
    assert not (tmp_path / "in.drop").exists()


REPORTER = new_id()


@pytest.mark.parametrize("answer", [[1], {"reporter_id": REPORTER},
                                    {"reporter_id": new_id(), "replies": []},
                                    {"reporter_id": REPORTER, "replies": [{"id": 5}]},
                                    {"reporter_id": REPORTER, "replies": {"id": new_id()}}])
def test_fetch_refuses_a_malformed_reply_list(tmp_path: Path, api: CannedApi,
                                              answer: Any) -> None:
    blob = b"reply envelope"
    reply = listed(blob, kind="reply", reporter_id=REPORTER, signature="A" * 86 + "==",
                   responder="ABCD EF01 2345 6789 ABCD")
    api.route = serve(lambda path: (200, {"items": [reply], "next_after": 1, "more": False}),
                      blobs={reply["id"]: blob}, replies=(200, answer))
    assert_network_error(run(tmp_path, api, "fetch", "--to", str(tmp_path / "in.drop")))


def test_fetch_stops_at_an_empty_page_even_if_more_is_claimed(
        tmp_path: Path, api: CannedApi) -> None:
    api.route = serve(lambda path: (200, {"items": [], "next_after": 0, "more": True}))
    result = run(tmp_path, api, "fetch", "--to", str(tmp_path / "in.drop"))
    assert result.exit_code == 0, result.output
    assert "0 envelopes" in result.output
    assert api.asked("/api/v1/items?") == 1


def test_fetch_stops_when_the_cursor_does_not_advance(tmp_path: Path, api: CannedApi) -> None:
    blob = b"an envelope"
    same = listed(blob)
    api.route = serve(lambda path: (200, {"items": [same], "next_after": 0, "more": True}),
                      blobs={same["id"]: blob})
    result = run(tmp_path, api, "fetch", "--to", str(tmp_path / "in.drop"))
    assert result.exit_code == 0, result.output
    assert "1 envelopes" in result.output
    assert api.asked("/api/v1/items?") == 1


def test_fetch_refuses_a_cursor_that_goes_backwards(tmp_path: Path, api: CannedApi) -> None:
    cursor = {"next": 10}
    api.route = serve(lambda path: (200, {"items": [], "next_after": cursor["next"],
                                          "more": False}))
    assert run(tmp_path, api, "fetch", "--to", str(tmp_path / "one.drop")).exit_code == 0
    cursor["next"] = 3
    assert_network_error(run(tmp_path, api, "fetch", "--to", str(tmp_path / "two.drop")))
    assert not (tmp_path / "two.drop").exists()


@pytest.mark.parametrize("counts", [{"new": "lots"}, {"new": 1}, [1, 2], "many",
                                    {"new": True, "emergency": 0, "latest": 0},
                                    {"new": -1, "emergency": 0, "latest": 0}])
def test_status_refuses_malformed_counts(tmp_path: Path, api: CannedApi, counts: Any) -> None:
    api.route = lambda method, path: (200, counts)
    assert_network_error(run(tmp_path, api, "status"))


def _reply_bundle(tmp_path: Path) -> Path:
    import base64

    from tests.journalist_support import item, raw_bundle

    blob = b"x" * 100
    fields = item(blob, kind="reply", reporter_id=new_id(),
                  signature=base64.b64encode(bytes(64)).decode(),
                  responder=keys.ResponderIdentity.generate().public.fingerprint)
    bundle = tmp_path / "out.drop"
    bundle.write_bytes(raw_bundle([(fields, blob)], kind=2))
    return bundle


def test_push_shows_server_text_without_its_terminal_escapes(tmp_path: Path,
                                                             api: CannedApi) -> None:
    api.route = lambda method, path: (400, {"accepted": False, "error": HOSTILE_TEXT})
    result = run(tmp_path, api, "push", str(_reply_bundle(tmp_path)))
    assert result.exit_code == 1, result.output
    assert "\x1b" not in result.output
    assert "REJECTED" in result.output and r"\x1b[2J" in result.output


@pytest.mark.parametrize("answer", [["nope"], "nope", {"accepted": False, "error": 5}])
def test_push_refuses_a_malformed_answer(tmp_path: Path, api: CannedApi, answer: Any) -> None:
    api.route = lambda method, path: (400, answer)
    assert_network_error(run(tmp_path, api, "push", str(_reply_bundle(tmp_path))))


@pytest.mark.parametrize("host", ["drop" + "x" * 52 + ".onion", "DROP" + "X" * 52 + ".ONION.",
                                  "www.drop" + "x" * 52 + ".onion"])
def test_an_onion_address_without_socks_is_refused_before_any_lookup(
        tmp_path: Path, api: CannedApi, monkeypatch: pytest.MonkeyPatch, host: str) -> None:
    looked_up: list[object] = []

    def no_resolver(name: object, *args: object, **kwargs: object) -> Any:
        looked_up.append(name)
        raise OSError("this test allows no name lookup")

    monkeypatch.setattr(socket, "getaddrinfo", no_resolver)
    api.url = f"http://{host}"
    result = run(tmp_path, api, "status")
    assert looked_up == []
    assert result.exit_code == 3, result.output
    assert "--socks" in result.output and "onion" in result.output
