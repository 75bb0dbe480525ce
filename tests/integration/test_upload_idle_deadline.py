"""Slow-upload denial of service under real gunicorn (review finding #2).

One worker, one sealing slot, a 5-second idle deadline: a stranger without a
CSRF token who stalls holds no slot; a client with a token who stalls after
the first file bytes holds the slot only until the deadline, then gets a 408
page, nothing of the upload is kept, and the next report goes through. A
client that never stalls but trickles (a few bytes every half second, far
below the 500 B/s floor) is cut the same way once its grace is spent, and so
are slow clients holding every worker thread in their headers or in a login's
body (the worker and middleware of dropbox.request_pace).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from dropbox.keyring import Keyring
from keys import ResponderIdentity
from tests.integration.conftest import (
    DEPLOY_CONFIG,
    STARTUP_TIMEOUT,
    free_port,
    wait_for_port,
)

IDLE_SECONDS = 5
# Far above the deadline: only a server that never answers fails the test on it.
ANSWER_TIMEOUT = 60.0
_CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
BOUNDARY = "drop-idle-test"
FILE_PART = (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="attachments"; '
             'filename="a.jpg"\r\nContent-Type: image/jpeg\r\n\r\n').encode()


@dataclass
class Server:
    port: int
    instance: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def files(self, name: str) -> list[Path]:
        directory = self.instance / name
        return sorted(directory.iterdir()) if directory.exists() else []


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    instance, runtime, tmp, logs = (tmp_path / n for n in ("instance", "runtime", "tmp", "logs"))
    for directory in (instance, tmp, logs):
        directory.mkdir()
    Keyring.load(instance / "keyring.json").add("Responder", str(ResponderIdentity.generate()
                                                                  .public))
    port = free_port()
    env = {**os.environ, "DROPBOX_INSTANCE": str(instance), "DROPBOX_RUNTIME_DIR": str(runtime),
           "TMPDIR": str(tmp), "DROPBOX_UPLOAD_IDLE_SECONDS": str(IDLE_SECONDS),
           "DROPBOX_UPLOAD_CONCURRENCY": "1", "DROPBOX_REQUEST_GRACE_SECONDS": str(IDLE_SECONDS)}
    command = [sys.executable, "-m", "gunicorn", "-c", str(DEPLOY_CONFIG),
               "dropbox.wsgi:reporter_app()", "--bind", f"127.0.0.1:{port}", "--workers", "1",
               "--threads", "4", "--worker-tmp-dir", str(tmp)]
    with open(logs / "stdout.log", "wb") as out, open(logs / "stderr.log", "wb") as err:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=err)
    try:
        wait_for_port(port, process, STARTUP_TIMEOUT)
        yield Server(port, instance)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _field(name: str, value: str) -> bytes:
    return (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
            f"{value}\r\n").encode()


def _fields(token: str) -> bytes:
    return b"".join(_field(n, v) for n, v in (
        ("csrf_token", token), ("website", ""), ("category", "threats"),
        ("urgency", "emergency"), ("text", "someone is outside my door"), ("lang", "")))


def _open_post(server: Server, body_start: bytes, cookie: str | None,
               extra_headers: str = "") -> socket.socket:
    """A POST /submit that announces 100 kB, sends `body_start`, then nothing."""
    sock = socket.create_connection(("127.0.0.1", server.port))
    sock.settimeout(ANSWER_TIMEOUT)
    head = (f"POST /submit HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
            f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
            "Content-Length: 100000\r\n" + extra_headers)
    if cookie:
        head += f"Cookie: drop_session={cookie}\r\n"
    sock.sendall(head.encode() + b"\r\n" + body_start)
    return sock


def _status(sock: socket.socket) -> tuple[int, str]:
    """The status code and page of the answer (read until the server closes)."""
    chunks = []
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        chunks.append(chunk)
        if b"</html>" in b"".join(chunks[-2:]):
            break
    raw = b"".join(chunks).decode("utf-8", "replace")
    return int(raw.split(" ", 2)[1]), raw


def _report(server: Server) -> int:
    with requests.Session() as browser:
        page = browser.get(f"{server.url}/submit", timeout=ANSWER_TIMEOUT).text
        token = _CSRF_RE.search(page)
        assert token
        body = _fields(token.group(1)) + f"--{BOUNDARY}--\r\n".encode()
        answer = browser.post(f"{server.url}/submit", data=body, timeout=ANSWER_TIMEOUT,
                              headers={"Content-Type":
                                       f"multipart/form-data; boundary={BOUNDARY}"})
        return answer.status_code


def _token_and_cookie(server: Server) -> tuple[str, str | None]:
    """A CSRF token and the session cookie it belongs to, as a browser loading the form."""
    with requests.Session() as browser:
        page = browser.get(f"{server.url}/submit", timeout=ANSWER_TIMEOUT).text
        token = _CSRF_RE.search(page)
        assert token
        return token.group(1), browser.cookies.get("drop_session")


def test_stalled_uploads_release_the_only_slot(server: Server) -> None:
    stranger = _open_post(server, f"--{BOUNDARY}\r\n".encode(), cookie=None)
    try:
        # The stranger has no token, so it holds nothing: the one slot is free.
        assert _report(server) == 200
        assert _status(stranger)[0] == 408  # and it was cut off at the deadline too
    finally:
        stranger.close()

    token, cookie = _token_and_cookie(server)
    file_start = FILE_PART + b"J" * 4096
    staller = _open_post(server, _fields(token) + file_start, cookie)
    try:
        status, page = _status(staller)
    finally:
        staller.close()
    assert status == 408
    assert "stopped arriving" in page and "nothing was saved" in page
    assert server.files("tmp") == []
    assert len(server.files("envelopes")) == 1  # the first report only
    assert _report(server) == 200


def _trickle(sock: socket.socket, answered: threading.Event) -> None:
    """20 bytes of file every half second (40 B/s) until the server answers or hangs up."""
    while not answered.is_set():
        try:
            sock.sendall(b"T" * 20)
        except OSError:
            return
        time.sleep(0.5)


def _assert_cut_while_trickling(server: Server, sock: socket.socket) -> None:
    """Trickle into `sock` (never silent for a second, so the idle deadline alone would
    never fire) until the answer: a 408, nothing kept, and the one slot free again."""
    answered = threading.Event()
    sender = threading.Thread(target=_trickle, args=(sock, answered), daemon=True)
    sender.start()
    try:
        status, page = _status(sock)
    finally:
        answered.set()
        sender.join()
        sock.close()
    assert status == 408
    assert "stopped arriving" in page and "nothing was saved" in page
    assert server.files("tmp") == []
    assert server.files("envelopes") == []
    assert _report(server) == 200


def test_a_trickling_upload_is_cut_below_the_pace_floor(server: Server) -> None:
    token, cookie = _token_and_cookie(server)
    trickler = _open_post(server, _fields(token) + FILE_PART, cookie)
    _assert_cut_while_trickling(server, trickler)


def test_a_trickling_chunked_upload_is_cut_with_the_same_answer(server: Server) -> None:
    """HTTP/1.1 chunked, no Content-Length: the pace cut ends the body mid-chunk, which
    gunicorn reports as its own error, not as a short body; still a 408, nothing kept."""
    token, cookie = _token_and_cookie(server)
    start = _fields(token) + FILE_PART
    sock = socket.create_connection(("127.0.0.1", server.port))
    sock.settimeout(ANSWER_TIMEOUT)
    head = (f"POST /submit HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
            f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
            f"Transfer-Encoding: chunked\r\nCookie: drop_session={cookie}\r\n\r\n")
    # One chunk announced far longer than what is sent, so the cut lands inside it.
    sock.sendall(head.encode() + b"%x\r\n" % 100000 + start)
    _assert_cut_while_trickling(server, sock)


def test_a_version_header_does_not_lift_the_deadlines(server: Server) -> None:
    """`Version: 2` reaches the app as HTTP_VERSION; it must not pass for HTTP/2 (which
    has no deadline) and free a stalled upload from the idle deadline and the floor."""
    token, cookie = _token_and_cookie(server)
    file_start = FILE_PART + b"J" * 64
    staller = _open_post(server, _fields(token) + file_start, cookie,
                         extra_headers="Version: 2\r\n")
    try:
        status, page = _status(staller)
    except TimeoutError:
        status, page = 0, "no answer: the upload held its thread and slot"
    finally:
        staller.close()
    assert status == 408, page
    assert server.files("tmp") == []
    assert _report(server) == 200


def _slow_client(server: Server, start: bytes, stop: threading.Event) -> None:
    """Send `start`, then a byte every half second (never finishing) until `stop` or a
    hang-up: each one holds a worker thread for as long as the server lets it."""
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        try:
            sock.sendall(start)
            while not stop.is_set():
                sock.sendall(b"x")
                time.sleep(0.5)
        except OSError:
            return


@pytest.mark.parametrize("phase", ["headers", "login body"])
def test_slow_clients_on_every_thread_are_let_go(server: Server, phase: str) -> None:
    """Four slow clients for the worker's four threads, in the request's headers or in a
    login's body: a page still loads, once each has spent its grace (5 s here)."""
    host = f"Host: 127.0.0.1:{server.port}\r\n"
    start = {"headers": f"GET /submit HTTP/1.1\r\n{host}X-Slow: ",
             "login body": f"POST /login HTTP/1.1\r\n{host}Content-Type: "
                           "application/x-www-form-urlencoded\r\nContent-Length: 5000\r\n\r\n"
                           "codename="}[phase].encode()
    stop = threading.Event()
    slow = [threading.Thread(target=_slow_client, args=(server, start, stop), daemon=True)
            for _ in range(4)]
    for client in slow:
        client.start()
    time.sleep(1.0)  # let the four take the four threads first
    try:
        page = requests.get(f"{server.url}/submit", timeout=ANSWER_TIMEOUT)
        assert page.status_code == 200
    finally:
        stop.set()
        for client in slow:
            client.join()
