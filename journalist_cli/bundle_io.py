"""Reading and writing bundles (FORMAT.md §8) as streams, never whole in memory.

    bundle = "DROPBNDL" || version u8 (1) || kind u8 || u32be manifest length
             || manifest (UTF-8 JSON) || blob_1 || ... || blob_n

A reader checks magic, version, kind and every manifest limit before it reads
a single blob, checks the file's length against the manifest when it can,
verifies each blob's SHA-256 as it streams, and refuses trailing bytes.
"""

from __future__ import annotations

import hashlib
import os
import stat
import struct
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from journalist_cli.bundle_manifest import (
    KIND_REPLY,
    KIND_TRANSFER,
    MAX_MANIFEST_BYTES,
    BundleItem,
    Manifest,
    parse_manifest,
)
from journalist_cli.errors import BundleError

MAGIC = b"DROPBNDL"
VERSION = 1
HEADER = struct.Struct(">8sBBI")
CHUNK = 64 * 1024

Progress = Callable[[int], None]


def _read_exactly(src: BinaryIO, count: int, what: str) -> bytes:
    data = src.read(count)
    if len(data) != count:
        raise BundleError(f"the bundle is cut short (in {what})")
    return data


def read_manifest(src: BinaryIO, expected_kind: int) -> Manifest:
    """Read and validate the header and manifest; leave `src` at the first blob.

    Raises BundleError for a wrong magic, version or kind, a manifest over 16 MiB
    or malformed, or (when `src` is a regular file) a length that does not match
    the manifest exactly. Nothing is written by this function.
    """
    header = _read_exactly(src, HEADER.size, "the header")
    magic, version, kind, length = HEADER.unpack(header)
    if magic != MAGIC:
        raise BundleError("this is not a drop bundle (wrong magic bytes)")
    if version != VERSION:
        raise BundleError(f"bundle version {version} is not supported (this tool reads 1)",
                          hint="update the journalist tool on both workstations")
    if kind not in (KIND_TRANSFER, KIND_REPLY):
        raise BundleError(f"unknown bundle kind {kind}")
    if kind != expected_kind:
        wanted = "transfer" if expected_kind == KIND_TRANSFER else "reply"
        raise BundleError(f"this is not a {wanted} bundle",
                          hint="`journalist import` takes what `fetch` wrote; "
                               "`journalist push` takes what `export` wrote")
    if not 2 <= length <= MAX_MANIFEST_BYTES:
        raise BundleError("the bundle's manifest length is out of range (2 bytes to 16 MiB)")
    manifest = parse_manifest(kind, _read_exactly(src, length, "the manifest"))
    _check_file_length(src, HEADER.size + length + manifest.total_size)
    return manifest


def _check_file_length(src: BinaryIO, expected: int) -> None:
    try:
        info = os.fstat(src.fileno())
    except (OSError, AttributeError, ValueError):
        return  # not a file (a pipe, a test buffer): the streaming checks still apply
    if not stat.S_ISREG(info.st_mode):
        return
    if info.st_size < expected:
        raise BundleError("the bundle is cut short: it is smaller than its manifest says",
                          hint="copy it again from the networked workstation")
    if info.st_size > expected:
        raise BundleError("the bundle has bytes after its last envelope")


def copy_blobs(src: BinaryIO, manifest: Manifest,
               sink: Callable[[BundleItem], BinaryIO | None],
               progress: Progress | None = None) -> None:
    """Stream each blob to `sink(item)` (None: hash and discard), verifying SHA-256.

    Raises BundleError on a short blob, a hash mismatch or trailing bytes. The
    caller must treat everything `sink` received as untrusted until this returns.
    """
    for item in manifest.items:
        digest = hashlib.sha256()
        dst = sink(item)
        remaining = item.size
        while remaining:
            chunk = src.read(min(CHUNK, remaining))
            if not chunk:
                raise BundleError(f"the bundle is cut short (in envelope {item.id})")
            digest.update(chunk)
            if dst is not None:
                dst.write(chunk)
            remaining -= len(chunk)
            if progress is not None:
                progress(len(chunk))
        if digest.hexdigest() != item.sha256:
            raise BundleError(f"envelope {item.id} does not match its SHA-256: "
                              "the bundle was damaged or tampered with")
    if src.read(1):
        raise BundleError("the bundle has bytes after its last envelope")


def write_bundle(dst: BinaryIO, manifest: Manifest,
                 open_blob: Callable[[BundleItem], BinaryIO],
                 progress: Progress | None = None) -> None:
    """Write `manifest` and each item's blob from `open_blob(item)` to `dst`.

    The manifest is first run through the same validator a reader uses, so this
    never emits a bundle that `read_manifest` would refuse. Raises BundleError
    if a blob's length or SHA-256 differs from its item.
    """
    body = manifest.to_json_bytes()
    parse_manifest(manifest.kind, body)
    if len(body) > MAX_MANIFEST_BYTES:
        raise BundleError("too many items for one bundle", hint="use --limit")
    dst.write(HEADER.pack(MAGIC, VERSION, manifest.kind, len(body)))
    dst.write(body)
    for item in manifest.items:
        digest = hashlib.sha256()
        written = 0
        with open_blob(item) as blob:
            while chunk := blob.read(CHUNK):
                digest.update(chunk)
                dst.write(chunk)
                written += len(chunk)
                if progress is not None:
                    progress(len(chunk))
        if written != item.size or digest.hexdigest() != item.sha256:
            raise BundleError(f"envelope {item.id} changed on disk while it was bundled")


class DirectorySink:
    """A `copy_blobs` sink writing each blob to `directory/<id>` (created new, 0600,
    no link followed), closing each file before the next opens. Use as a context manager.

    Files are not fsynced one by one (that cost ~1 ms per envelope): a caller
    that keeps them makes them durable in one pass (`sync_to_disk`) before it
    commits to them.
    """

    def __init__(self, directory: Path, skip: Callable[[BundleItem], bool] = lambda _: False
                 ) -> None:
        self.directory = directory
        self.skip = skip
        self._open: BinaryIO | None = None

    def __call__(self, item: BundleItem) -> BinaryIO | None:
        self._finish()
        if self.skip(item):
            return None
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
        self._open = os.fdopen(os.open(self.directory / item.id, flags, 0o600), "wb")
        return self._open

    def _finish(self) -> None:
        if self._open is not None:
            handle, self._open = self._open, None
            handle.close()

    def __enter__(self) -> DirectorySink:
        return self

    def __exit__(self, *_exc: object) -> None:
        self._finish()
