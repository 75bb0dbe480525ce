"""Figure 5: air-gapped CLI: import + decrypt + list, against pure PyNaCl on the same bytes.

Two cases, as issue #6 asks:

- N reports (10,000): a transfer bundle (tests/journalist_support.raw_bundle,
  FORMAT.md §8) is imported into a fresh workstation and listed with
  decryption (`journalist import`, `journalist list`).
- 1 x 500 MB attachment (100 MB without --full): a bundle of one report and
  its attachment is imported, listed, and the attachment decrypted to a file
  (`journalist save`).

Each command is the real `journalist` in its own process (start-up and the
identity file's Argon2id included). The baseline is pure PyNaCl opening the
same envelope files in one process: sealed-box stanza, HMAC, HKDF,
secretstream (FORMAT.md §2), with no checks beyond the format's own; for the
attachment it streams the plaintext to a file and fsyncs it, as `save` does.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import BinaryIO

from nacl.bindings import (
    crypto_secretstream_xchacha20poly1305_init_pull,
    crypto_secretstream_xchacha20poly1305_pull,
    crypto_secretstream_xchacha20poly1305_state,
)
from nacl.public import PrivateKey, SealedBox

import keys
from bench.measure import MB, Figure, Options
from keys import ReplyKeyPair, ResponderIdentity
from keys.identity_file import save_identity
from tests.journalist_support import PASSPHRASE, item, raw_bundle, report_envelope

TITLE = ("Air-gapped CLI: import + decrypt + list (10,000 reports; 1 x 500 MB with --full), "
         "vs pure PyNaCl")
CHUNK = 65536 + 17
REPORTS = 10_000
ATTACHMENT_BYTES = 100 * MB  # the 500 MB with --full (over a minute in all)
FULL_ATTACHMENT_BYTES = 500 * MB


def file_system_floor(blobs: list[bytes], directory: Path) -> float:
    """Seconds to write `blobs` as new files in `directory` and sync once: what any
    import must pay, with no parsing, checks or index (a reference, not a baseline)."""
    directory.mkdir()
    start = time.perf_counter()
    for number, blob in enumerate(blobs):
        fd = os.open(directory / f"{number:032x}", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, blob)
        finally:
            os.close(fd)
    os.sync()
    return time.perf_counter() - start


def _hkdf(key: bytes, info: bytes) -> bytes:
    prk = hmac.new(b"\0" * 32, key, hashlib.sha256).digest()
    return hmac.new(prk, info + b"\x01", hashlib.sha256).digest()


def _open_header_pynacl(header: bytes, read: BinaryIO, box: SealedBox[PrivateKey]) -> bytes:
    count = header[8]
    rest = read.read(80 * count + 32)
    data = header + rest
    header_end = 9 + 80 * count
    file_key = None
    for index in range(count):
        try:
            file_key = box.decrypt(data[9 + 80 * index:9 + 80 * (index + 1)])
            break
        except Exception:
            continue
    if file_key is None:
        raise ValueError("no match")
    mac = hmac.new(_hkdf(file_key, b"drop/v1 header-mac"), data[:header_end], hashlib.sha256)
    if not hmac.compare_digest(mac.digest(), data[header_end:header_end + 32]):
        raise ValueError("header failure")
    return _hkdf(file_key, b"drop/v1 payload")


def open_envelope_pynacl(src: BinaryIO, box: SealedBox[PrivateKey], out: BinaryIO) -> None:
    """FORMAT.md §2 decryption, streamed, with PyNaCl primitives only."""
    payload_key = _open_header_pynacl(src.read(9), src, box)
    state = crypto_secretstream_xchacha20poly1305_state()
    crypto_secretstream_xchacha20poly1305_init_pull(state, src.read(24), payload_key)
    while chunk := src.read(CHUNK):
        message, _tag = crypto_secretstream_xchacha20poly1305_pull(state, chunk)
        out.write(message)


def journalist(home: Path, *args: str) -> float:
    env = {**os.environ, "JOURNALIST_HOME": str(home), "JOURNALIST_PASSPHRASE": PASSPHRASE,
           "COLUMNS": "200"}
    start = time.perf_counter()
    done = subprocess.run([str(Path(sys.executable).with_name("journalist")), *args], env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"journalist {args[0]} exited {done.returncode}: "
                           f"{done.stderr.decode(errors='replace')[-500:]}")
    return elapsed


def _fresh_home(tmp: Path, name: str, identity: ResponderIdentity) -> Path:
    home = tmp / name
    home.mkdir(mode=0o700)
    save_identity(identity, home / "identity.key", PASSPHRASE)
    return home


def _reports_case(figure: Figure, options: Options, tmp: Path, identity: ResponderIdentity,
                  count: int) -> None:
    reply = ReplyKeyPair.generate().public
    blobs = [report_envelope(identity.public, f"bench report {i} " + "x" * 400, reply)
             for i in range(count)]
    entries = [(item(blob, reply_key=str(reply)), blob) for blob in blobs]
    bundle = tmp / "reports.drop"
    bundle.write_bytes(raw_bundle(entries))
    box = SealedBox(PrivateKey(identity.box_secret))
    imports, lists, totals, pure, floor = [], [], [], [], []
    for run in range(options.runs):
        home = _fresh_home(tmp, f"reports-{run}", identity)
        imported = journalist(home, "import", str(bundle))
        listed = journalist(home, "list")
        imports.append(imported)
        lists.append(listed)
        totals.append(imported + listed)
        files = sorted((home / "inbox" / "envelopes").iterdir())
        assert len(files) == count, f"{len(files)} envelopes imported, expected {count}"
        start = time.perf_counter()
        for path in files:
            with path.open("rb") as src:
                open_envelope_pynacl(src, box, io.BytesIO())
        pure.append(time.perf_counter() - start)
        floor.append(file_system_floor(blobs, tmp / f"floor-{run}"))
    figure.add(f"journalist import, {count} reports", imports, "s")
    figure.add(f"journalist list (decrypts all), {count} reports", lists, "s")
    total = figure.add(f"import + list, {count} reports", totals, "s")
    baseline = figure.add(f"pure PyNaCl: open the same {count} envelopes", pure, "s")
    figure.add("import + list per report", [t / count * 1000 for t in totals], "ms")
    figure.add(f"reference: write {count} files + one sync, nothing else", floor, "s")
    figure.ratio(f"import + list / pure PyNaCl, {count} reports", total, baseline)


def _write_attachment_bundle(path: Path, identity: ResponderIdentity, size: int) -> str:
    """A transfer bundle of one report and its `size`-byte attachment; return the report id."""
    envelope = path.with_suffix(".envelope")
    pattern = (bytes(range(256)) * 4096)[:1 << 20]
    with envelope.open("wb") as out, keys.Sealer(out, [identity.public]) as sealer:
        for offset in range(0, size, len(pattern)):
            sealer.write(pattern[:min(len(pattern), size - offset)])
    digest = hashlib.sha256()
    with envelope.open("rb") as blob:
        while chunk := blob.read(1 << 20):
            digest.update(chunk)
    ref = keys.AttachmentRef("evidence.bin", size, "application/octet-stream",
                             digest.hexdigest())
    report = report_envelope(identity.public, "see the attachment",
                             ReplyKeyPair.generate().public, attachments=(ref,))
    report_item = item(report)
    attachment_item = item(b"", kind="attachment", reporter_id=report_item["reporter_id"],
                           parent_id=report_item["id"], size=envelope.stat().st_size,
                           sha256=digest.hexdigest())
    head = raw_bundle([(report_item, report), (attachment_item, b"")])
    with path.open("wb") as out, envelope.open("rb") as blob:
        out.write(head)
        while chunk := blob.read(1 << 20):
            out.write(chunk)
    envelope.unlink()
    return str(report_item["id"])


def _attachment_case(figure: Figure, options: Options, tmp: Path,
                     identity: ResponderIdentity, size: int) -> None:
    bundle = tmp / "attachment.drop"
    report_id = _write_attachment_bundle(bundle, identity, size)
    box = SealedBox(PrivateKey(identity.box_secret))
    totals, pure, copies = [], [], []
    for run in range(options.runs):
        home = _fresh_home(tmp, f"attachment-{run}", identity)
        out = tmp / f"saved-{run}"
        out.mkdir()
        spent = journalist(home, "import", str(bundle)) + journalist(home, "list") \
            + journalist(home, "save", report_id, "--to", str(out))
        totals.append(spent)
        saved = out / "evidence.bin"
        assert saved.stat().st_size == size, "the attachment was not saved whole"
        saved.unlink()
        envelope = max((home / "inbox" / "envelopes").iterdir(), key=lambda p: p.stat().st_size)
        start = time.perf_counter()
        with envelope.open("rb") as src, (tmp / "pure.out").open("wb") as plain:
            open_envelope_pynacl(src, box, plain)
            plain.flush()
            os.fsync(plain.fileno())
        pure.append(time.perf_counter() - start)
        (tmp / "pure.out").unlink()
        start = time.perf_counter()
        shutil.copyfile(envelope, tmp / "copy.out")
        os.sync()
        copies.append(time.perf_counter() - start)
        (tmp / "copy.out").unlink()
        envelope.unlink()  # keep the disk use to one copy per run
    megabytes = size // MB
    total = figure.add(f"import + list + save, 1 x {megabytes} MB attachment", totals, "s")
    baseline = figure.add(f"pure PyNaCl: decrypt the {megabytes} MB envelope to a file",
                          pure, "s")
    figure.add(f"reference: copy the {megabytes} MB envelope + one sync", copies, "s")
    figure.ratio(f"import + list + save / pure PyNaCl, 1 x {megabytes} MB", total, baseline)


def measure(options: Options) -> Figure:
    figure = Figure("cli", TITLE)
    identity = ResponderIdentity(os.urandom(32), os.urandom(32))
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as tmp:
        _reports_case(figure, options, Path(tmp), identity, REPORTS)
        _attachment_case(figure, options, Path(tmp), identity,
                         FULL_ATTACHMENT_BYTES if options.full else ATTACHMENT_BYTES)
    figure.notes.append("each journalist command is its own process: Python start-up and the "
                        "identity file's Argon2id (64 MiB) are included, once per command")
    figure.notes.append("the attachment case also checks the blob's SHA-256 on import and fsyncs "
                        "the saved file; the baseline fsyncs its output too")
    return figure
