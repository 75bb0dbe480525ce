"""Fixtures for the unit layer.

Responder API (`api`): the app on a private instance with one responder and
its online key, on each store.

Reporter app (dropbox/reporter): a fresh instance dir, runtime dir and system
temp dir per test, a keyring holding one responder whose identity the test
keeps (to decrypt what the server stored), and helpers to read CSRF tokens
and codenames out of pages. `reporter_env` (and so `client`) runs each test
on both stores, SQLite and PostgreSQL (`backend`, tests/conftest.py).
"""

from __future__ import annotations

import io
import re
import secrets
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from dropbox.app import create_app
from dropbox.config import Config
from dropbox.keyring import Keyring
from dropbox.services import Services, services
from keys import ResponderIdentity, decrypt
from tests.backends import SQLITE, Backend
from tests.journalist_support import ApiEnv, Workstation, make_api_env, make_workstation

_CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
_CODENAME_RE = re.compile(r'<output id="codename-value" class="codename">([^<]+)</output>')


@dataclass
class ReporterEnv:
    """One reporter app on a private instance, and the paths a plaintext scan must cover."""

    app: Flask
    config: Config
    identity: ResponderIdentity
    system_tmp: Path
    backend: Backend = SQLITE

    @property
    def services(self) -> Services:
        return services(self.app)

    def scan_paths(self) -> list[Path]:
        """Everything the app could have written, a dump of the database included."""
        dumps = self.backend.at_rest_paths(self.system_tmp.parent / "db-dumps")
        return [self.config.instance_dir, self.config.runtime_dir, self.system_tmp, *dumps]

    def client(self) -> FlaskClient:
        return self.app.test_client()

    def open_envelope(self, envelope_id: str) -> bytes:
        """Decrypt a stored envelope with the test responder's identity."""
        out = io.BytesIO()
        with self.services.store.open(envelope_id) as src:
            decrypt(src, out, self.identity)
        return out.getvalue()


def csrf_from(html: str) -> str:
    match = _CSRF_RE.search(html)
    assert match, "page has no CSRF token"
    return match.group(1)


def csrf_token(client: FlaskClient, path: str = "/submit") -> str:
    response = client.get(path)
    assert response.status_code == 200
    return csrf_from(response.get_data(as_text=True))


def codename_from(html: str) -> str:
    match = _CODENAME_RE.search(html)
    assert match, "page shows no codename"
    return match.group(1).strip()


FilePart = tuple[bytes, str, str]  # content, filename, content type
Part = tuple[str, "str | FilePart"]


def multipart(parts: list[Part]) -> tuple[bytes, str]:
    """Encode parts in exactly this order; returns (body, content type)."""
    boundary = "drop-test-" + secrets.token_hex(8)
    out = io.BytesIO()
    for name, value in parts:
        out.write(f"--{boundary}\r\n".encode())
        if isinstance(value, str):
            out.write(f'Content-Disposition: form-data; name="{name}"\r\n\r\n'.encode())
            out.write(value.encode("utf-8"))
        else:
            content, filename, content_type = value
            out.write(
                f'Content-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                f"Content-Type: {content_type}\r\n\r\n".encode()
            )
            out.write(content)
        out.write(b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


def post_multipart(client: FlaskClient, path: str, parts: list[Part], **kwargs: Any) -> Any:
    body, content_type = multipart(parts)
    return client.post(path, data=body, content_type=content_type, **kwargs)


def make_reporter_env(root: Path, *, with_keyring: bool = True, backend: Backend = SQLITE,
                      **overrides: object) -> ReporterEnv:
    system_tmp = root / "systmp"
    system_tmp.mkdir()
    config = Config.for_instance(
        root / "instance", {"DROPBOX_RUNTIME_DIR": str(root / "runtime"), **backend.env()}
    ).replace(testing=True, **overrides)
    identity = ResponderIdentity.generate()
    if with_keyring:
        Keyring.load(config.keyring_path).add("Test responder", str(identity.public))
    return ReporterEnv(create_app(config), config, identity, system_tmp, backend)


@pytest.fixture
def reporter_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                 backend: Backend) -> Iterator[ReporterEnv]:
    system_tmp = tmp_path / "systmp"
    monkeypatch.setattr(tempfile, "tempdir", str(system_tmp))
    env = make_reporter_env(tmp_path, backend=backend)
    yield env
    env.services.database.engine.dispose()


@pytest.fixture
def client(reporter_env: ReporterEnv) -> FlaskClient:
    return reporter_env.client()


@pytest.fixture
def api(tmp_path: Path, backend: Backend) -> Iterator[ApiEnv]:
    env = make_api_env(tmp_path, backend.env())
    yield env
    env.context.database.engine.dispose()


@pytest.fixture
def station(tmp_path: Path) -> Workstation:
    """An air-gapped workstation with its identity, in this test's temp dir."""
    return make_workstation(tmp_path)
