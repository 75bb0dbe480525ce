"""The reporter app's building blocks: config, envelope files, keyring, sessions, database,
the streaming multipart reader and the content files."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import time
from pathlib import Path

import pytest
from sqlalchemy import inspect

from dropbox.config import Config, ConfigError
from dropbox.db import open_database
from dropbox.keyring import Keyring, KeyringError
from dropbox.reporter.content import ContentError, load_content
from dropbox.reporter.errors import BadUpload, TooLarge
from dropbox.reporter.multipart import FieldBuffer, PartInfo, read_multipart
from dropbox.sessions import SessionStore
from dropbox.storage import EnvelopeStore, StorageError, UnknownEnvelope
from keys import ResponderIdentity
from tests.backends import Backend
from tests.unit.conftest import multipart


def test_config_defaults_and_secret_key_file(tmp_path: Path) -> None:
    config = Config.from_env({"DROPBOX_INSTANCE": str(tmp_path / "inst")})
    assert config.instance_dir == (tmp_path / "inst").resolve()
    assert config.database_url == f"sqlite:///{config.instance_dir / 'drop.sqlite3'}"
    assert config.max_upload_bytes == 500_000_000
    assert config.session_idle_minutes == 30
    assert "self-harm" in config.categories
    key_file = config.instance_dir / "secret-key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    again = Config.from_env({"DROPBOX_INSTANCE": str(tmp_path / "inst")})
    assert again.secret_key == config.secret_key


def test_config_from_env_values_and_errors(tmp_path: Path) -> None:
    env = {
        "DROPBOX_INSTANCE": str(tmp_path),
        "DROPBOX_MAX_UPLOAD_BYTES": "1000",
        "DROPBOX_CATEGORIES": "a, b ,c",
        "DROPBOX_RUNTIME_DIR": str(tmp_path / "rt"),
        "DROPBOX_CRISIS_FILE": str(tmp_path / "c.json"),
    }
    config = Config.from_env(env)
    assert (config.max_upload_bytes, config.categories) == (1000, ("a", "b", "c"))
    assert config.runtime_dir == (tmp_path / "rt").resolve()
    assert config.crisis_file == (tmp_path / "c.json").resolve()
    with pytest.raises(ConfigError, match="DROPBOX_MAX_UPLOAD_BYTES"):
        Config.from_env({**env, "DROPBOX_MAX_UPLOAD_BYTES": "lots"})
    with pytest.raises(ConfigError, match="DROPBOX_SESSION_IDLE_MINUTES"):
        Config.from_env({**env, "DROPBOX_SESSION_IDLE_MINUTES": "0"})


def test_envelope_store_commit_open_and_wipe(tmp_path: Path) -> None:
    store = EnvelopeStore(tmp_path)
    temp_path, handle = store.new_temp()
    with handle:
        handle.write(b"ciphertext" * 1000)
    assert stat.S_IMODE(temp_path.stat().st_mode) == 0o600
    envelope_id = "ab" * 16
    store.commit(temp_path, envelope_id)
    assert not temp_path.exists()
    with store.open(envelope_id) as stored:
        assert stored.read() == b"ciphertext" * 1000
    with pytest.raises(StorageError):
        other, other_handle = store.new_temp()
        other_handle.close()
        store.commit(other, envelope_id)
    # A second name for the same inode shows what secure_delete left on the disk blocks.
    witness = tmp_path / "witness"
    os.link(store.path(envelope_id), witness)
    store.secure_delete(envelope_id)
    assert not store.exists(envelope_id)
    assert witness.read_bytes() == b"\0" * 10_000
    with pytest.raises(UnknownEnvelope):
        store.open(envelope_id)
    with pytest.raises(UnknownEnvelope):
        store.path("../../etc/passwd")


def test_cleanup_temp_removes_leftovers_of_dead_requests_only(tmp_path: Path) -> None:
    store = EnvelopeStore(tmp_path)
    paths = []
    for _ in range(4):
        path, handle = store.new_temp()
        handle.write(b"half")
        handle.close()
        paths.append(path)
    for dead in paths[:3]:
        store.release(dead)  # what a crashed worker's exit does to its flocks
    assert store.cleanup_temp(older_than_seconds=3600) == 0  # maybe another worker's upload
    for leftover in store.tmp_dir.iterdir():
        os.utime(leftover, (time.time() - 7200, time.time() - 7200))
    assert store.cleanup_temp(older_than_seconds=3600) == 3
    assert list(store.tmp_dir.iterdir()) == [paths[3]]  # still leased: a live upload
    store.discard_temp(paths[3])


def test_keyring_add_remove_and_reload(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    alice, bob = ResponderIdentity.generate().public, ResponderIdentity.generate().public
    keyring = Keyring.load(path)
    assert keyring.entries == [] and keyring.recipients() == []
    keyring.add("alice", str(alice))
    keyring.add("bob", str(bob))
    with pytest.raises(KeyringError, match="already"):
        keyring.add("carol", str(alice))
    with pytest.raises(KeyringError, match="not a valid"):
        keyring.add("mallory", "drop-pub-garbage")
    reloaded = Keyring.load(path)
    assert [e.name for e in reloaded.entries] == ["alice", "bob"]
    assert reloaded.recipients() == [alice, bob]
    reloaded.remove(bob.fingerprint.replace(" ", "").lower())
    reloaded.remove("alice")
    assert Keyring.load(path).entries == []
    assert [p.name for p in tmp_path.iterdir()] == ["keyring.json"]  # no temp files left


def test_corrupt_keyring_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    for content in ("not json", '{"name": "x"}', '[{"name": "x", "key": "drop-pub-aaaa"}]'):
        path.write_text(content)
        with pytest.raises(KeyringError):
            Keyring.load(path)


def test_session_store_idle_expiry_and_touch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [1_000_000.0]
    monkeypatch.setattr(time, "time", lambda: now[0])
    store = SessionStore(tmp_path / "rt" / "sessions.sqlite3", idle_minutes=30)
    assert stat.S_IMODE((tmp_path / "rt").stat().st_mode) == 0o700
    # Logged-in sessions: the 30-minute idle expiry (anonymous ones last longer).
    store.save("sid-a", {"reporter": "r", "csrf_token": "t"})
    store.save("sid-b", {"reporter": "s", "csrf_token": "u"})
    now[0] += 29 * 60
    store.touch("sid-a")  # an upload in progress keeps its session
    now[0] += 29 * 60
    assert store.load("sid-a") == {"reporter": "r", "csrf_token": "t"}
    assert store.load("sid-b") is None
    now[0] += 31 * 60
    assert store.load("sid-a") is None
    raw = (tmp_path / "rt" / "sessions.sqlite3").read_bytes()
    assert b"sid-a" not in raw


def test_database_migrations_and_sqlite_pragmas(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'drop.sqlite3'}"
    database = open_database(url, tmp_path)
    open_database(url, tmp_path).engine.dispose()  # idempotent, as a second worker would
    with database.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA secure_delete").scalar() == 1
    database.engine.dispose()
    tables = {
        row[0]
        for row in sqlite3.connect(tmp_path / "drop.sqlite3").execute(
            "SELECT name FROM sqlite_master WHERE type='table'"
        )
    }
    assert {"reporters", "envelopes", "api_nonces", "alembic_version"} <= tables


def test_database_schema_on_each_store(tmp_path: Path, backend: Backend) -> None:
    url = backend.url or f"sqlite:///{tmp_path / 'drop.sqlite3'}"
    database = open_database(url, tmp_path)
    open_database(url, tmp_path).engine.dispose()  # idempotent, as a second worker would
    try:
        assert database.engine.dialect.name == backend.name
        tables = set(inspect(database.engine).get_table_names())
    finally:
        database.engine.dispose()
    assert {"reporters", "envelopes", "api_nonces", "alembic_version"} <= tables


class _Collect:
    def __init__(self) -> None:
        self.data = bytearray()
        self.finished = False

    def write(self, data: bytes) -> None:
        self.data.extend(data)

    def finish(self) -> None:
        self.finished = True


class _Trickle:
    """A stream that returns at most `step` bytes per read, to split every boundary."""

    def __init__(self, data: bytes, step: int) -> None:
        self.data, self.step, self.pos = data, step, 0

    def read(self, size: int = -1, /) -> bytes:
        chunk = self.data[self.pos : self.pos + min(self.step, size if size > 0 else self.step)]
        self.pos += len(chunk)
        return chunk


@pytest.mark.parametrize("step", [1, 7, 4096, 1 << 20])
def test_multipart_reader_any_chunking(step: int) -> None:
    payload = os.urandom(200_000 if step > 100 else 5_000) + b"\r\n--not-the-boundary\r\n"
    body, content_type = multipart([("a", "text ü"), ("f", (payload, "x.bin", "a/b"))])
    boundary = content_type.split("boundary=")[1].encode()
    seen: dict[str, _Collect] = {}
    infos: list[PartInfo] = []

    def open_part(info: PartInfo) -> _Collect:
        infos.append(info)
        seen[info.name] = _Collect()
        return seen[info.name]

    read_multipart(_Trickle(body, step), boundary, max_bytes=len(body), open_part=open_part)
    assert seen["a"].data.decode() == "text ü" and seen["a"].finished
    assert bytes(seen["f"].data) == payload and seen["f"].finished
    assert [(i.name, i.filename, i.content_type) for i in infos] == [
        ("a", None, ""), ("f", "x.bin", "a/b")
    ]
    with pytest.raises(TooLarge):
        read_multipart(_Trickle(body, step), boundary, max_bytes=len(body) - 1,
                       open_part=open_part)
    with pytest.raises(BadUpload):
        read_multipart(_Trickle(body[: len(body) // 2], step), boundary,
                       max_bytes=len(body), open_part=open_part)


def test_field_buffer_limit() -> None:
    buffer = FieldBuffer("category", 4)
    buffer.write(b"abcd")
    with pytest.raises(BadUpload):
        buffer.write(b"e")


def test_content_files_are_validated(tmp_path: Path) -> None:
    path = tmp_path / "crisis.json"
    assert load_content(path) is None
    path.write_text(json.dumps({"title": "T", "sections": [
        {"heading": "H", "paragraphs": ["<b>p</b>"], "links": [{"label": "L", "url": "tel:112"}]}
    ]}))
    content = load_content(path)
    assert content is not None and content.sections[0].links[0].url == "tel:112"
    path.write_text(json.dumps({"title": "T", "sections": [
        {"heading": "H", "links": [{"label": "L", "url": "javascript:alert(1)"}]}
    ]}))
    with pytest.raises(ContentError, match="url"):
        load_content(path)


def test_content_file_is_shown_html_escaped(tmp_path: Path) -> None:
    from tests.unit.conftest import make_reporter_env

    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "crisis.json").write_text(json.dumps({"title": "Call 112 <now>", "sections": [
        {"heading": "Local line", "paragraphs": ["<script>x</script>"],
         "links": [{"label": "Hotline", "url": "https://help.example/"}]}
    ]}))
    env = make_reporter_env(tmp_path)
    page = env.client().get("/submit").get_data(as_text=True)
    assert "Call 112 &lt;now&gt;" in page and "&lt;script&gt;x&lt;/script&gt;" in page
    assert 'href="https://help.example/" rel="noreferrer noopener"' in page
    env.services.database.engine.dispose()


@pytest.mark.parametrize("payload", [b"ab\r\n", b"ab\r", b"a\n", b"\r\n\r\n", b"x\r\n--y\r\n", b""])
@pytest.mark.parametrize("step", [1, 2, 3, 5])
def test_multipart_reader_keeps_line_breaks_before_the_boundary(payload: bytes, step: int) -> None:
    # Werkzeug 3.1.9's own hold-back rule adds a stray CR here with small reads.
    body, content_type = multipart([("f", (payload, "x", "a/b")), ("g", "after")])
    boundary = content_type.split("boundary=")[1].encode()
    seen: dict[str, _Collect] = {}

    def open_part(info: PartInfo) -> _Collect:
        seen[info.name] = _Collect()
        return seen[info.name]

    read_multipart(_Trickle(body, step), boundary, max_bytes=len(body), open_part=open_part)
    assert bytes(seen["f"].data) == payload
    assert bytes(seen["g"].data) == b"after"
