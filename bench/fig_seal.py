"""Figure 1: sealing a large JS-off upload on receipt, through gunicorn on loopback.

The reporter app receives a plaintext multipart upload and seals it as it
streams (keys.Sealer), then fsyncs and renames it. Compared, on the same bytes
and the same disk, with: a raw copy (write + fsync), `gpg --encrypt` to a
cv25519 key (no compression), and PyNaCl's secretstream alone (+ fsync).
Also the worker's peak RSS growth over its idle size, for a 1 KB, a 50 MB and
the large upload: a streaming server shows the same growth for all three (the
1 KB one is what every JS-off report costs: its Argon2id login hash).

The upload is 500 MB, the size the issue asks for; `--full` changes nothing here.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from pathlib import Path

import requests
from nacl.bindings import (
    crypto_secretstream_xchacha20poly1305_init_push,
    crypto_secretstream_xchacha20poly1305_keygen,
    crypto_secretstream_xchacha20poly1305_push,
    crypto_secretstream_xchacha20poly1305_state,
    crypto_secretstream_xchacha20poly1305_TAG_FINAL,
)

from bench.measure import MB, Figure, MiB, Options, PeakRss, repeat
from keys import ResponderIdentity
from tests.gunicorn_server import GunicornReporter
from tests.reporter_client import BLOCK, pattern_block, submit_js_off

TITLE = "Seal-on-receipt of a large JS-off upload (gunicorn, loopback)"


def _blocks(size: int) -> list[bytes]:
    block = pattern_block("BENCH-SEAL")
    full, rest = divmod(size, BLOCK)
    return [block] * full + ([block[:rest]] if rest else [])


def raw_copy(size: int, directory: Path) -> float:
    path = directory / "raw-copy"
    start = time.perf_counter()
    with open(path, "wb") as out:
        for chunk in _blocks(size):
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    elapsed = time.perf_counter() - start
    path.unlink()
    return size / MB / elapsed


def secretstream_alone(size: int, directory: Path) -> float:
    path = directory / "secretstream"
    start = time.perf_counter()
    state = crypto_secretstream_xchacha20poly1305_state()
    header = crypto_secretstream_xchacha20poly1305_init_push(
        state, crypto_secretstream_xchacha20poly1305_keygen())
    blocks = _blocks(size)
    with open(path, "wb") as out:
        out.write(header)
        for index, chunk in enumerate(blocks):
            tag = crypto_secretstream_xchacha20poly1305_TAG_FINAL if index == len(blocks) - 1 else 0
            out.write(crypto_secretstream_xchacha20poly1305_push(state, chunk, tag=tag))
        out.flush()
        os.fsync(out.fileno())
    elapsed = time.perf_counter() - start
    path.unlink()
    return size / MB / elapsed


def gpg_home(directory: Path) -> Path:
    home = directory / "gnupg"
    home.mkdir(mode=0o700)
    subprocess.run(
        ["gpg", "--homedir", str(home), "--batch", "--passphrase", "", "--quick-gen-key",
         "Bench <bench@drop.invalid>", "future-default", "default", "never"],
        check=True, capture_output=True)
    return home


def gpg_encrypt(size: int, directory: Path, home: Path) -> float:
    path = directory / "gpg-out"
    start = time.perf_counter()
    process = subprocess.Popen(
        ["gpg", "--homedir", str(home), "--batch", "--trust-model", "always",
         "--compress-algo", "none", "-r", "bench@drop.invalid", "--encrypt", "-o", str(path)],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert process.stdin is not None
    for chunk in _blocks(size):
        process.stdin.write(chunk)
    process.stdin.close()
    if process.wait() != 0:
        raise RuntimeError("gpg --encrypt failed")
    fd = os.open(path, os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)
    elapsed = time.perf_counter() - start
    path.unlink()
    return size / MB / elapsed


def upload(server: GunicornReporter, size: int) -> tuple[float, int]:
    """One JS-off upload of `size` bytes: (MB/s, worker peak RSS growth in bytes)."""
    block = pattern_block("BENCH-SEAL")
    with PeakRss(server.worker_pids) as idle:
        time.sleep(0.2)  # a few samples of the idle worker
    with requests.Session() as session, PeakRss(server.worker_pids) as busy:
        start = time.perf_counter()
        outcome, _ = submit_js_off(session, server.url, "bench", [(block, size)])
        elapsed = time.perf_counter() - start
    if not outcome.acknowledged:
        raise RuntimeError(f"the upload was refused: HTTP {outcome.status}")
    for envelope in (server.instance_dir / "envelopes").iterdir():
        envelope.unlink()  # keep the disk from filling over repeated runs
    return size / MB / elapsed, max(0, busy.peak - idle.peak)


UPLOAD_MB = 500


def measure(options: Options) -> Figure:
    size = UPLOAD_MB * MB
    figure = Figure("seal", TITLE)
    with tempfile.TemporaryDirectory(prefix="bench-seal-") as tmp:
        root = Path(tmp)
        server = GunicornReporter(
            root=root / "server", responder=ResponderIdentity.generate(), workers=1, threads=4,
            extra_env={"DROPBOX_MAX_UPLOAD_BYTES": str(size + 10 * MB)})
        server.start()
        try:
            upload(server, 1000)  # warm-up: imports, Argon2id buffers
            sealed, growth = [], []
            for _ in range(options.runs):
                speed, rss = upload(server, size)
                sealed.append(speed)
                growth.append(rss)
            growth_50 = [upload(server, 50 * MB)[1] for _ in range(options.runs)]
            growth_1k = [upload(server, 1000)[1] for _ in range(options.runs)]
        finally:
            server.stop()
        home = gpg_home(root)
        seal_row = figure.add(f"drop seal-on-receipt, {size // MB} MB", sealed, "MB/s")
        raw_row = figure.add("raw copy + fsync", repeat(options.runs, lambda: raw_copy(size, root)),
                             "MB/s")
        gpg_row = figure.add("gpg --encrypt cv25519, no compression",
                             repeat(options.runs, lambda: gpg_encrypt(size, root, home)), "MB/s")
        ss_row = figure.add("PyNaCl secretstream + fsync",
                            repeat(options.runs, lambda: secretstream_alone(size, root)), "MB/s")
    figure.add("worker peak RSS growth, 1 KB upload", [g / MiB for g in growth_1k], "MiB")
    figure.add("worker peak RSS growth, 50 MB upload", [g / MiB for g in growth_50], "MiB")
    figure.add(f"worker peak RSS growth, {size // MB} MB upload", [g / MiB for g in growth], "MiB")
    figure.ratio("drop / raw copy", seal_row, raw_row)
    figure.ratio("drop / gpg", seal_row, gpg_row)
    figure.ratio("drop / secretstream alone", seal_row, ss_row)
    figure.notes.append("drop timing includes HTTP on loopback, multipart parsing, the per-report "
                        "Argon2id login hash and codename derivation, fsync and rename")
    return figure
