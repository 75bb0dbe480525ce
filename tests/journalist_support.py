"""Helpers for the journalist CLI and bundle tests: workstations, envelopes, raw bundles.

`raw_bundle` builds bundles byte by byte, so tests can make hostile ones that
the real writer would refuse to produce.
"""

from __future__ import annotations

import hashlib
import io
import json
import secrets
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

import keys
from journalist_cli.main import cli
from keys.identity_file import save_identity

PASSPHRASE = "correct horse battery staple"


@dataclass
class Workstation:
    """An air-gapped workstation in a temp dir, with its identity and a CLI runner."""

    home: Path
    identity: keys.ResponderIdentity

    def env(self) -> dict[str, str]:
        return {"JOURNALIST_HOME": str(self.home), "JOURNALIST_PASSPHRASE": PASSPHRASE,
                "COLUMNS": "200"}

    def run(self, *args: str, input: str | None = None) -> Result:
        return CliRunner().invoke(cli, list(args), env=self.env(), input=input,
                                  catch_exceptions=False)


def make_workstation(root: Path) -> Workstation:
    home = root / "workstation"
    home.mkdir(mode=0o700)
    identity = keys.ResponderIdentity.generate()
    save_identity(identity, home / "identity.key", PASSPHRASE)
    return Workstation(home, identity)


def seal(plaintext: bytes, recipients: list[keys.Recipient]) -> bytes:
    out = io.BytesIO()
    keys.encrypt(io.BytesIO(plaintext), out, recipients)
    return out.getvalue()


def report_envelope(responder: keys.ResponderPublicKey, text: str,
                    reply_key: keys.ReplyPublicKey, urgency: str = "normal",
                    attachments: tuple[keys.AttachmentRef, ...] = ()) -> bytes:
    message = keys.Report(category="harassment", urgency=urgency,  # type: ignore[arg-type]
                          text=text, reply_key=reply_key, attachments=attachments)
    return seal(keys.encode_message(message), [responder])


def new_id() -> str:
    return secrets.token_hex(16)


def item(blob: bytes, **fields: Any) -> dict[str, Any]:
    """A manifest item for `blob` with sensible defaults (a normal report)."""
    base: dict[str, Any] = {
        "id": new_id(), "kind": "report", "reporter_id": new_id(), "parent_id": None,
        "size": len(blob), "day": "2026-11-24", "emergency": False, "reply_key": None,
        "sha256": hashlib.sha256(blob).hexdigest(), "signature": None, "responder": None}
    base.update(fields)
    return base


def raw_bundle(entries: list[tuple[dict[str, Any], bytes]], *, kind: int = 1,
               manifest: bytes | None = None, magic: bytes = b"DROPBNDL", version: int = 1,
               trailing: bytes = b"", declared_length: int | None = None,
               extra: dict[str, Any] | None = None) -> bytes:
    """A bundle from manifest items and blobs; every field overridable to make it hostile."""
    if manifest is None:
        doc: dict[str, Any] = {"created_day": "2026-11-24",
                               "items": [fields for fields, _ in entries]}
        if kind == 1:
            doc.update(cursor=len(entries), keyring=[], replies_on_server={})
        else:
            doc.update(deletions=[], reporter_deletions=[])
        doc.update(extra or {})
        manifest = json.dumps(doc).encode()
    length = len(manifest) if declared_length is None else declared_length
    blobs = b"".join(blob for _, blob in entries)
    return struct.pack(">8sBBI", magic, version, kind, length) + manifest + blobs + trailing


def write_report_bundle(station: Workstation, path: Path,
                        texts: list[str]) -> tuple[Path, list[str]]:
    """Write a transfer bundle of one report per text (one reply key) to `path`;
    return the path and the reports' ids, in order."""
    reply = keys.ReplyKeyPair.generate().public
    entries = []
    for text in texts:
        blob = report_envelope(station.identity.public, text, reply)
        entries.append((item(blob), blob))
    path.write_bytes(raw_bundle(entries))
    return path, [str(fields["id"]) for fields, _ in entries]


def png_with_author(author: bytes) -> bytes:
    """A valid 1x1 PNG whose tEXt chunk names `author` (metadata for mat2 to strip)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
            + chunk(b"tEXt", b"Author\x00" + author)
            + chunk(b"IDAT", zlib.compress(b"\x00\x00")) + chunk(b"IEND", b""))


def files_under(path: Path) -> list[str]:
    """Every file and link below `path`, relative, sorted (to prove nothing was written)."""
    return sorted(str(p.relative_to(path)) for p in path.rglob("*"))


@dataclass
class ApiEnv:
    """A responder API on a private instance, a responder in its keyring and an online key."""

    app: Any
    config: Any
    identity: keys.ResponderIdentity
    online_key: keys.OnlineSigningKey

    @property
    def context(self) -> Any:
        return self.app.extensions["drop_responder"]

    def add_reporter(self, reply_key: keys.ReplyPublicKey | None = None) -> str:
        from dropbox.db import Reporter
        reply_key = reply_key or keys.ReplyKeyPair.generate().public
        reporter_id = new_id()
        with self.context.database.session() as session, session.begin():
            session.add(Reporter(id=reporter_id, login_hash=secrets.token_hex(32),
                                 reply_key=str(reply_key)))
        return reporter_id

    def add_envelope(self, reporter_id: str, data: bytes, kind: str = "report",
                     parent_id: str | None = None, emergency: bool = False) -> str:
        from dropbox.db import Envelope
        envelope_id = new_id()
        store = self.context.store
        temp_path, temp = store.new_temp()
        with temp:
            temp.write(data)
        store.commit(temp_path, envelope_id)
        with self.context.database.session() as session, session.begin():
            session.add(Envelope(id=envelope_id, reporter_id=reporter_id, kind=kind,
                                 parent_id=parent_id, size=len(data), emergency=emergency))
        return envelope_id

    def call(self, method: str, path: str, body: bytes = b"", *,
             key: keys.OnlineSigningKey | None = None, timestamp: int | None = None,
             nonce: str | None = None, sign_path: str | None = None,
             sign_body: bytes | None = None, headers: dict[str, str] | None = None) -> Any:
        """A signed request through the Flask test client; every part overridable."""
        import time
        signed = keys.sign_request(
            key or self.online_key, method, sign_path or path,
            hashlib.sha256(body if sign_body is None else sign_body).digest(),
            int(time.time()) if timestamp is None else timestamp,
            nonce or secrets.token_urlsafe(24))
        return self.app.test_client().open(path, method=method, data=body,
                                           headers={**signed, **(headers or {})})


def make_api_env(root: Path, env: dict[str, str] | None = None) -> ApiEnv:
    """The responder API on `root/instance`; `env` adds DROPBOX_* settings (e.g. the database)."""
    from dropbox.config import Config
    from dropbox.keyring import Keyring
    from dropbox.responder_app import create_responder_app

    config = Config.for_instance(root / "instance",
                                 {"DROPBOX_RUNTIME_DIR": str(root / "run"), **(env or {})})
    identity = keys.ResponderIdentity.generate()
    Keyring.load(config.keyring_path).add("sam", str(identity.public))
    app = create_responder_app(config.replace(testing=True))
    return ApiEnv(app, config, identity, keys.OnlineSigningKey.delegate(identity, 7))


def read_bundle_blobs(data: bytes, kind: int | None = None) -> dict[str, bytes]:
    """Read a bundle as `journalist import` does (manifest, then every blob checked).

    Returns blob bytes by item id; raises BundleError for anything malformed.
    `kind` defaults to a transfer bundle.
    """
    from journalist_cli.bundle_io import copy_blobs, read_manifest
    from journalist_cli.bundle_manifest import KIND_TRANSFER, BundleItem

    src = io.BytesIO(data)
    manifest = read_manifest(src, KIND_TRANSFER if kind is None else kind)
    out: dict[str, io.BytesIO] = {}

    def sink(entry: BundleItem) -> io.BytesIO:
        out[entry.id] = io.BytesIO()
        return out[entry.id]

    copy_blobs(src, manifest, sink)
    return {key: value.getvalue() for key, value in out.items()}
