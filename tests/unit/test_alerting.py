"""Emergency alerts of `journalist status`: the notify command learns a count and nothing else.

The responder API runs for real (werkzeug on 127.0.0.1 in a thread); the
notify command is a tiny script that records its arguments, stdin and the
JOURNALIST_* variables it can see.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from rich.console import Console
from werkzeug.serving import make_server

from journalist_cli.alerting import EmergencyAlert, alert_text, parse_notify_command
from journalist_cli.main import cli
from tests.backends import Backend
from tests.journalist_support import ApiEnv, make_api_env

RECORDER = """\
import json, os, sys
with open(sys.argv[1], "a") as out:
    out.write(json.dumps({"argv": sys.argv[2:], "stdin": sys.stdin.read(),
                          "journalist_env": sorted(k for k in os.environ
                                                   if k.startswith("JOURNALIST_"))}) + "\\n")
"""
JOURNALIST = Path(sys.executable).parent / "journalist"


@pytest.fixture
def api(tmp_path: Path, backend: Backend) -> Iterator[tuple[ApiEnv, str]]:
    env = make_api_env(tmp_path, backend.env())
    server = make_server("127.0.0.1", 0, env.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield env, f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
        env.context.database.engine.dispose()


@pytest.fixture
def recorder(tmp_path: Path) -> tuple[str, Path]:
    script = tmp_path / "recorder.py"
    script.write_text(RECORDER)
    record = tmp_path / "notified.jsonl"
    return f"{sys.executable} {script} {record}", record


def _env(tmp_path: Path, server: str, api: ApiEnv) -> dict[str, str]:
    return {"JOURNALIST_HOME": str(tmp_path / "networked"), "JOURNALIST_SERVER": server,
            "JOURNALIST_ONLINE_KEY": api.online_key.to_secret_string(), "COLUMNS": "120"}


def _records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_notify_command_gets_only_the_count(api: tuple[ApiEnv, str], recorder: tuple[str, Path],
                                            tmp_path: Path) -> None:
    env, url = api
    reporter = env.add_reporter()
    ids = [env.add_envelope(reporter, b"sealed", emergency=True) for _ in range(2)]
    env.add_envelope(reporter, b"sealed")
    command, record = recorder
    result = CliRunner().invoke(cli, ["status", "--notify-command", command],
                                env=_env(tmp_path, url, env), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "3 new messages" in result.output and "2 EMERGENCY" in result.output
    assert "\a" in result.output
    [seen] = _records(record)
    assert seen == {"argv": ["2 new emergency reports"], "stdin": "2 new emergency reports\n",
                    "journalist_env": []}
    assert not any(reporter in line or i in line for i in ids for line in seen["argv"])


def test_notify_command_from_the_environment(api: tuple[ApiEnv, str],
                                             recorder: tuple[str, Path], tmp_path: Path) -> None:
    env, url = api
    env.add_envelope(env.add_reporter(), b"sealed", emergency=True)
    command, record = recorder
    result = CliRunner().invoke(cli, ["status"], catch_exceptions=False,
                                env={**_env(tmp_path, url, env),
                                     "JOURNALIST_NOTIFY_COMMAND": command})
    assert result.exit_code == 0, result.output
    assert [r["argv"] for r in _records(record)] == [["1 new emergency report"]]


def test_no_emergency_no_notification(api: tuple[ApiEnv, str], recorder: tuple[str, Path],
                                      tmp_path: Path) -> None:
    env, url = api
    env.add_envelope(env.add_reporter(), b"sealed")
    command, record = recorder
    result = CliRunner().invoke(cli, ["status", "--notify-command", command],
                                env=_env(tmp_path, url, env), catch_exceptions=False)
    assert result.exit_code == 0 and "1 new messages" in result.output
    assert "EMERGENCY" not in result.output and "\a" not in result.output
    assert not record.exists()


def test_watch_notifies_from_a_real_process(api: tuple[ApiEnv, str],
                                            recorder: tuple[str, Path], tmp_path: Path) -> None:
    env, url = api
    env.add_envelope(env.add_reporter(), b"sealed", emergency=True)
    command, record = recorder
    watcher = subprocess.Popen(
        [str(JOURNALIST), "status", "--watch", "30", "--notify-command", command],
        env={**os.environ, **_env(tmp_path, url, env)}, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        # The recorder writes its one line in a single call: a newline means it is done.
        while (not (record.exists() and record.read_text().endswith("\n"))
               and watcher.poll() is None and time.monotonic() < deadline):
            time.sleep(0.1)
        assert watcher.poll() is None, "the watch ended instead of waiting"
    finally:
        watcher.terminate()
        output, _ = watcher.communicate(timeout=30)
    assert [r["argv"] for r in _records(record)] == [["1 new emergency report"]]
    assert b"\a" in output and b"EMERGENCY" in output


def test_alert_counts_only_new_emergencies(recorder: tuple[str, Path]) -> None:
    command, record = recorder
    screen = io.StringIO()
    alert = EmergencyAlert(Console(file=screen, width=100), parse_notify_command(command))
    assert [alert.observe(n) for n in (1, 1, 3, 0, 0, 2)] == [1, 0, 2, 0, 0, 2]
    assert [r["argv"][0] for r in _records(record)] == [
        alert_text(1), alert_text(2), alert_text(2)]
    assert screen.getvalue().count("\a") == 3


def test_a_failing_notify_command_does_not_stop_the_alert(tmp_path: Path) -> None:
    screen = io.StringIO()
    alert = EmergencyAlert(Console(file=screen, width=100),
                           parse_notify_command(f"{sys.executable} -c 'raise SystemExit(7)'"))
    assert alert.observe(1) == 1
    assert "EMERGENCY" in screen.getvalue() and "exited with 7" in screen.getvalue()


def test_unparseable_notify_command_is_bad_input(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["status", "--notify-command", "notify 'unclosed"],
                                env={"JOURNALIST_HOME": str(tmp_path)})
    assert result.exit_code == 3 and "cannot be parsed" in result.output
