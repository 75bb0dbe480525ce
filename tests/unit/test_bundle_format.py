"""The bundle format (FORMAT.md §8): round trip, limits, and a fuzzed parser that only
ever raises BundleError."""

from __future__ import annotations

import io
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from journalist_cli.bundle_io import read_manifest, write_bundle
from journalist_cli.bundle_manifest import (
    KIND_REPLY,
    KIND_TRANSFER,
    MAX_ITEM_BYTES,
    BundleItem,
    Manifest,
    parse_manifest,
)
from journalist_cli.errors import BundleError
from tests.journalist_support import item, raw_bundle, read_bundle_blobs


def test_writer_output_reads_back_exactly() -> None:
    blobs = [b"first envelope", b"", b"x" * 200_000]
    items = tuple(BundleItem(**{k: v for k, v in item(b).items()}) for b in blobs)
    manifest = Manifest(kind=KIND_TRANSFER, created_day="2026-11-24", items=items, cursor=9)
    out = io.BytesIO()
    write_bundle(out, manifest, lambda i: io.BytesIO(blobs[items.index(i)]))
    assert read_bundle_blobs(out.getvalue()) == {i.id: b for i, b in zip(items, blobs, strict=True)}
    assert read_manifest(io.BytesIO(out.getvalue()), KIND_TRANSFER) == manifest


def test_writer_refuses_a_blob_that_differs_from_its_item() -> None:
    entry = BundleItem(**item(b"declared"))
    manifest = Manifest(kind=KIND_TRANSFER, created_day="2026-11-24", items=(entry,), cursor=1)
    with pytest.raises(BundleError, match="changed on disk"):
        write_bundle(io.BytesIO(), manifest, lambda _: io.BytesIO(b"another"))


@pytest.mark.parametrize(("fields", "message"), [
    ({"id": "../../../../etc/passwd0000000000"}, "id is malformed"),
    ({"id": "A" * 32}, "id is malformed"),
    ({"size": MAX_ITEM_BYTES + 1}, "size must be"),
    ({"size": True}, "size must be"),
    ({"size": -1}, "size must be"),
    ({"kind": "script"}, "unknown kind"),
    ({"day": "2026-02-30"}, "not a real date"),
    ({"emergency": "yes"}, "emergency"),
    ({"reply_key": "drop-reply-../../x"}, "reply_key is malformed"),
    ({"path": "/etc/passwd"}, "unknown fields"),
])
def test_each_malformed_item_field_is_named(fields: dict[str, object], message: str) -> None:
    blob = b"blob"
    with pytest.raises(BundleError, match=message):
        read_bundle_blobs(raw_bundle([(item(blob, **fields), blob)]))


def test_duplicate_ids_and_duplicate_json_keys_are_refused() -> None:
    first = item(b"a")
    with pytest.raises(BundleError, match="appears twice"):
        read_bundle_blobs(raw_bundle([(first, b"a"), (dict(first), b"a")]))
    doubled = b'{"created_day":"2026-11-24","created_day":"2026-11-25","items":[],' \
              b'"cursor":0,"keyring":[],"replies_on_server":{}}'
    with pytest.raises(BundleError, match="repeats the field"):
        read_bundle_blobs(raw_bundle([], manifest=doubled))


def test_total_declared_size_is_limited_before_any_blob_is_read() -> None:
    entries = [(item(b"", size=MAX_ITEM_BYTES), b"") for _ in range(65)]
    with pytest.raises(BundleError, match="64 GiB"):
        read_manifest(io.BytesIO(raw_bundle(entries)), KIND_TRANSFER)


def test_reply_bundles_hold_only_signed_replies() -> None:
    blob = b"reply"
    unsigned = item(blob, kind="reply")
    with pytest.raises(BundleError, match="only signed replies"):
        read_bundle_blobs(raw_bundle([(unsigned, blob)], kind=KIND_REPLY), KIND_REPLY)
    with pytest.raises(BundleError, match="not a transfer bundle"):
        read_bundle_blobs(raw_bundle([], kind=KIND_REPLY))


def test_deeply_nested_manifest_is_a_bundle_error_not_a_crash() -> None:
    nested = b"[" * 200_000 + b"]" * 200_000
    with pytest.raises(BundleError):
        parse_manifest(KIND_TRANSFER, nested)


def _valid_bundle() -> bytes:
    entries = [(item(b"one"), b"one"), (item(b"two" * 10, kind="attachment"), b"two" * 10)]
    return raw_bundle(entries, extra={"keyring": [{"name": "sam", "public_key":
                                                   "drop-pub-" + "a" * 103}]})


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2048))
def test_fuzz_arbitrary_bytes_only_raise_bundle_error(data: bytes) -> None:
    try:
        read_bundle_blobs(data)
    except BundleError:
        pass


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_fuzz_mutated_valid_bundles_only_raise_bundle_error(data: st.DataObject) -> None:
    original = bytearray(_valid_bundle())
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, len(original) - 1))
        action = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        if action == "flip":
            original[position] ^= data.draw(st.integers(1, 255))
        elif action == "cut":
            del original[position:position + data.draw(st.integers(1, 8))]
        else:
            original[position:position] = data.draw(st.binary(min_size=1, max_size=8))
    try:
        read_bundle_blobs(bytes(original))
    except BundleError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=40),
                    lambda children: st.lists(children, max_size=4)
                    | st.dictionaries(st.text(max_size=12), children, max_size=6),
                    max_leaves=30))
def test_fuzz_any_json_manifest_only_raises_bundle_error(doc: object) -> None:
    for kind in (KIND_TRANSFER, KIND_REPLY):
        try:
            parse_manifest(kind, json.dumps(doc).encode())
        except BundleError:
            pass
