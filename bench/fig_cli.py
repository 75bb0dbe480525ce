"""Figure 5: air-gapped CLI: `journalist import` + `list` (which decrypts) of N reports.

A transfer bundle of N report envelopes (tests/journalist_support.raw_bundle,
the format of FORMAT.md §8) is imported into a fresh workstation and listed
with decryption, each as the real `journalist` command in its own process
(startup and the identity's Argon2id included). Compared with pure PyNaCl
opening the same envelope bytes in one process: sealed-box stanza, HMAC,
HKDF, secretstream (FORMAT.md §2), with no checks beyond the format's own.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from nacl.bindings import (
    crypto_secretstream_xchacha20poly1305_init_pull,
    crypto_secretstream_xchacha20poly1305_pull,
    crypto_secretstream_xchacha20poly1305_state,
)
from nacl.public import PrivateKey, SealedBox

from bench.measure import Figure, Options
from keys import ReplyKeyPair, ResponderIdentity
from keys.identity_file import save_identity
from tests.journalist_support import PASSPHRASE, item, raw_bundle, report_envelope

TITLE = "Air-gapped CLI: import + decrypt + list of N reports, vs pure PyNaCl"
CHUNK = 65536 + 17


def _hkdf(key: bytes, info: bytes) -> bytes:
    prk = hmac.new(b"\0" * 32, key, hashlib.sha256).digest()
    return hmac.new(prk, info + b"\x01", hashlib.sha256).digest()


def open_envelope_pynacl(data: bytes, box: SealedBox[PrivateKey]) -> bytes:
    """FORMAT.md §2 decryption for the first stanza that opens, with PyNaCl primitives only."""
    count = data[8]
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
    state = crypto_secretstream_xchacha20poly1305_state()
    payload = header_end + 32
    crypto_secretstream_xchacha20poly1305_init_pull(
        state, data[payload:payload + 24], _hkdf(file_key, b"drop/v1 payload"))
    out, position = [], payload + 24
    while position < len(data):
        message, _tag = crypto_secretstream_xchacha20poly1305_pull(
            state, data[position:position + CHUNK])
        out.append(message)
        position += CHUNK
    return b"".join(out)


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


def measure(options: Options) -> Figure:
    count = 10_000 if options.full else 2_000
    figure = Figure("cli", TITLE)
    box_secret = os.urandom(32)
    identity = ResponderIdentity(box_secret, os.urandom(32))
    reply = ReplyKeyPair.generate().public
    blobs = [report_envelope(identity.public, f"bench report {i} " + "x" * 400, reply)
             for i in range(count)]
    entries = [(item(blob, reply_key=str(reply)), blob) for blob in blobs]
    imports, lists, totals, pure = [], [], [], []
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as tmp:
        bundle = Path(tmp) / "transfer.drop"
        bundle.write_bytes(raw_bundle(entries))
        for run in range(options.runs):
            home = Path(tmp) / f"workstation-{run}"
            home.mkdir(mode=0o700)
            save_identity(identity, home / "identity.key", PASSPHRASE)
            imported = journalist(home, "import", str(bundle))
            listed = journalist(home, "list")
            imports.append(imported)
            lists.append(listed)
            totals.append(imported + listed)
            envelopes = sorted((home / "inbox").rglob("*"))
            files = [p for p in envelopes if p.is_file() and len(p.name) == 32]
            assert len(files) == count, f"{len(files)} envelopes imported, expected {count}"
            box = SealedBox(PrivateKey(box_secret))
            start = time.perf_counter()
            for path in files:
                open_envelope_pynacl(path.read_bytes(), box)
            pure.append(time.perf_counter() - start)
    figure.add(f"journalist import, {count} reports", imports, "s")
    figure.add(f"journalist list (decrypts all), {count} reports", lists, "s")
    total = figure.add("import + list", totals, "s")
    baseline = figure.add("pure PyNaCl: open the same envelopes", pure, "s")
    figure.add("import + list per report", [t / count * 1000 for t in totals], "ms")
    figure.ratio("import + list / pure PyNaCl (time)", total, baseline)
    figure.notes.append("each journalist command is its own process: Python start-up and the "
                        "identity file's Argon2id (64 MiB) are included, once per command")
    return figure
