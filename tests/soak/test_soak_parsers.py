"""The long fuzzing of the parsers that face hostile bytes outside the web app
(`make soak` only): the envelope parser (keys.decrypt on corrupted envelopes),
the bundle importer (manifest and blobs of a transfer bundle, as `journalist
import` reads them) and codename parsing. Each raises only its package's typed
error and, for envelopes, releases no plaintext. With test_soak_reliability.py
this makes over a million inputs in `make soak`.
"""

from __future__ import annotations

import io
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from journalist_cli.errors import BundleError
from keys import CodenameError, KeysError, ResponderIdentity, decrypt, encrypt
from keys.codename import normalize_codename, wordlist
from tests.integration.fuzz_forms import BIG
from tests.journalist_support import item, raw_bundle, read_bundle_blobs

pytestmark = [pytest.mark.soak, pytest.mark.timeout(4 * 3600)]

ALICE, BOB = ResponderIdentity.generate(), ResponderIdentity.generate()
# Two chunks and a tail, so corruption can land in the header, a middle chunk or the last.
CHUNK = 65536
PLAINTEXT = os.urandom(2 * CHUNK + 300)


def _seal(data: bytes) -> bytes:
    out = io.BytesIO()
    encrypt(io.BytesIO(data), out, [BOB.public, ALICE.public])
    return out.getvalue()


ENVELOPE = _seal(PLAINTEXT)
ENTRIES = [(item(b"one"), b"one"), (item(b"two" * 10, kind="attachment"), b"two" * 10)]
BUNDLE = raw_bundle(ENTRIES)
BLOBS = {entry["id"]: blob for entry, blob in ENTRIES}


def _mutate(original: bytes, data: st.DataObject) -> bytes:
    damaged = bytearray(original)
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, max(len(damaged) - 1, 0)))
        action = data.draw(st.sampled_from(["flip", "cut", "truncate", "insert"]))
        if action == "flip" and damaged:
            damaged[position] ^= data.draw(st.integers(1, 255))
        elif action == "cut":
            del damaged[position:position + data.draw(st.integers(1, 64))]
        elif action == "truncate":
            del damaged[position:]
        else:
            damaged[position:position] = data.draw(st.binary(min_size=1, max_size=40))
    return bytes(damaged)


@settings(BIG, max_examples=150_000)
@given(st.data())
def test_envelope_parser_big(data: st.DataObject) -> None:
    damaged = _mutate(ENVELOPE, data)
    out = io.BytesIO()
    try:
        decrypt(io.BytesIO(damaged), out, ALICE)
    except KeysError:
        assert out.getvalue() == b"", "plaintext released from a damaged envelope"
    else:
        # A mutation can cancel itself out (cut then re-insert the same bytes).
        assert damaged == ENVELOPE and out.getvalue() == PLAINTEXT


@settings(BIG, max_examples=100_000)
@given(st.data())
def test_bundle_importer_mutated_big(data: st.DataObject) -> None:
    try:
        blobs = read_bundle_blobs(_mutate(BUNDLE, data))
    except BundleError:
        return
    # Accepted despite the damage: the damage was to labels (an item id, a keyring
    # name; the envelopes inside authenticate themselves), never to a blob's bytes.
    assert set(blobs.values()) <= set(BLOBS.values())


@settings(BIG, max_examples=50_000)
@given(st.binary(max_size=4096))
def test_bundle_importer_arbitrary_bytes_big(raw: bytes) -> None:
    try:
        read_bundle_blobs(raw)
    except BundleError:
        return


codename_like = st.one_of(
    st.text(max_size=300),
    st.lists(st.one_of(st.sampled_from(wordlist()), st.text(max_size=12)), max_size=12).map(
        lambda words: " ".join(words)),
)


@settings(BIG, max_examples=100_000)
@given(text=codename_like)
def test_codename_parser_big(text: str) -> None:
    try:
        result = normalize_codename(text)
    except CodenameError:
        return
    assert len(result.split(" ")) == 8
