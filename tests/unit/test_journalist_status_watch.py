"""`journalist status --watch` against a canned server: it survives failed polls, backs
off, raises the alarm after several, and the notify command hears of lost and regained
contact once per outage, with a fixed line and nothing else."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from journalist_cli.alerting import CONTACT_BACK, CONTACT_LOST, alert_text
from journalist_cli.commands_status import MAX_RETRY_SECONDS, retry_delay
from tests.canned_api import Answer, CannedApi, assert_network_error, run, serving_canned_api

RECORDER = """\
import sys
with open(sys.argv[1], "a") as out:
    out.write(sys.argv[-1] + "|" + sys.stdin.read())
"""


@pytest.fixture
def api() -> Iterator[CannedApi]:
    with serving_canned_api() as canned:
        yield canned


def _watch(tmp_path: Path, api: CannedApi, monkeypatch: pytest.MonkeyPatch,
           answers: list[Answer], *args: str) -> tuple[str, list[float]]:
    """Run `status --watch 30` through `answers` (one per poll); its output and its waits."""
    api.route = lambda method, path: answers[min(api.asked("/api/v1/counts"), len(answers)) - 1]
    waits: list[float] = []

    def next_round(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == len(answers):
            raise KeyboardInterrupt

    monkeypatch.setattr(time, "sleep", next_round)
    result = run(tmp_path, api, "status", "--watch", "30", *args)
    assert result.exit_code == 0, result.output
    assert api.asked("/api/v1/counts") == len(answers)
    return result.output, waits


def test_status_watch_survives_failed_polls_and_alerts_after_several(
        tmp_path: Path, api: CannedApi, monkeypatch: pytest.MonkeyPatch) -> None:
    output, waits = _watch(tmp_path, api, monkeypatch, [
        (200, {"new": 1, "emergency": 0, "latest": 5}),
        (503, {"error": "busy"}),
        (503, {"error": "busy"}),
        (200, b"<html>a captive portal</html>"),
        (200, {"new": "lots"}),
        (200, {"new": 2, "emergency": 1, "latest": 6}),
    ])
    # every poll after a failure waits longer, doubling; a success goes back to 30 s
    assert waits == [30, 30, 60, 120, 240, 30]
    assert output.count("warning: this check failed") == 4
    assert output.count("CANNOT REACH THE SERVER") == 1  # after the 3rd in a row
    assert "reached the server again" in output
    assert "1 EMERGENCY" in output and "2 new messages" in output


def test_notify_command_hears_of_lost_contact_once_and_of_its_return(
        tmp_path: Path, api: CannedApi, monkeypatch: pytest.MonkeyPatch) -> None:
    script = tmp_path / "recorder.py"
    script.write_text(RECORDER)
    record = tmp_path / "notified.txt"
    busy: Answer = (503, {"error": "busy"})
    _watch(tmp_path, api, monkeypatch, [
        (200, {"new": 0, "emergency": 0, "latest": 1}),
        busy, busy,  # two failures: a warning each, nobody woken
        (200, {"new": 0, "emergency": 0, "latest": 1}),
        busy, busy, busy, busy, busy, busy, busy,  # one long outage: told once
        (200, {"new": 1, "emergency": 1, "latest": 2}),
    ], "--notify-command", f"{sys.executable} {script} {record}")
    told = [line.split("|")[0] for line in record.read_text().splitlines()]
    assert told == [CONTACT_LOST, CONTACT_BACK, alert_text(1)]


def test_the_watch_backoff_is_bounded() -> None:
    assert [retry_delay(30, n) for n in range(4)] == [30, 30, 60, 120]
    assert retry_delay(30, 1000) == MAX_RETRY_SECONDS
    assert retry_delay(3600, 5) == 3600  # never shorter than what was asked for


def test_status_without_watch_still_fails_on_a_failed_poll(tmp_path: Path,
                                                           api: CannedApi) -> None:
    api.route = lambda method, path: (503, {"error": "busy"})
    assert_network_error(run(tmp_path, api, "status"))

