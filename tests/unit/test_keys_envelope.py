"""Envelopes: round trips, streaming sealer, atomic decryption, and failure behaviour."""

from __future__ import annotations

import array
import io
import os
import stat
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keys import (
    HeaderError,
    KeysError,
    NoIdentityMatch,
    PayloadError,
    ReplyKeyPair,
    ResponderIdentity,
    Sealer,
    decrypt,
    decrypt_to_path,
    encrypt,
)
from keys.envelope import CHUNK_CIPHERTEXT_SIZE, CHUNK_SIZE, envelope_recipient_count

ALICE = ResponderIdentity(bytes(32 * [1]), bytes(32 * [2]))
BOB = ResponderIdentity(bytes(32 * [3]), bytes(32 * [4]))
REPLY = ReplyKeyPair(bytes(32 * [5]))


def seal(data: bytes, recipients: list[object] | None = None) -> bytes:
    out = io.BytesIO()
    encrypt(io.BytesIO(data), out, recipients or [ALICE.public])  # type: ignore[arg-type]
    return out.getvalue()


def open_bytes(envelope: bytes, identity: ResponderIdentity | ReplyKeyPair = ALICE) -> bytes:
    out = io.BytesIO()
    decrypt(io.BytesIO(envelope), out, identity)
    return out.getvalue()


def expected_size(n: int, recipients: int = 1) -> int:
    chunks = max(1, -(-n // CHUNK_SIZE))
    return 9 + 80 * recipients + 32 + 24 + 17 * chunks + n


@pytest.mark.parametrize("size", [0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1,
                                  2 * CHUNK_SIZE, 3 * CHUNK_SIZE + 7])
def test_round_trip_and_exact_length(size: int) -> None:
    data = os.urandom(size)
    envelope = seal(data)
    assert len(envelope) == expected_size(size)
    assert open_bytes(envelope) == data


def test_every_recipient_can_open_and_duplicates_are_dropped() -> None:
    envelope = seal(b"for all", [ALICE.public, REPLY.public, ALICE.public, BOB.public])
    assert envelope_recipient_count(envelope) == 3
    for identity in (ALICE, BOB, REPLY):
        assert open_bytes(envelope, identity) == b"for all"


def test_stranger_gets_no_match() -> None:
    with pytest.raises(NoIdentityMatch):
        open_bytes(seal(b"x"), BOB)


@pytest.mark.parametrize("count", [0, 33])
def test_recipient_count_outside_1_to_32_is_refused(count: int) -> None:
    recipients = [ReplyKeyPair(bytes([i + 1]) * 32).public for i in range(count)]
    with pytest.raises(KeysError, match="1 to 32"):
        Sealer(io.BytesIO(), recipients)


def test_wrong_recipient_type_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        Sealer(io.BytesIO(), [ALICE])  # type: ignore[list-item]


def test_sealer_holds_at_most_one_chunk() -> None:
    out = io.BytesIO()
    sealer = Sealer(out, [ALICE.public])
    header_len = out.tell()
    sealer.write(b"a" * CHUNK_SIZE)
    assert out.tell() == header_len  # a full chunk may still be the last one
    sealer.write(b"b")
    assert out.tell() == header_len + CHUNK_CIPHERTEXT_SIZE
    sealer.write(b"c" * (3 * CHUNK_SIZE))
    assert out.tell() == header_len + 4 * CHUNK_CIPHERTEXT_SIZE  # 1 byte still held
    sealer.close()
    sealer.close()
    assert open_bytes(out.getvalue()) == b"a" * CHUNK_SIZE + b"b" + b"c" * (3 * CHUNK_SIZE)
    with pytest.raises(ValueError):
        sealer.write(b"late")


def test_sealer_in_failed_block_leaves_an_incomplete_envelope() -> None:
    out = io.BytesIO()
    with pytest.raises(OSError), Sealer(out, [ALICE.public]) as sealer:
        sealer.write(b"partial upload")
        raise OSError("client went away")
    with pytest.raises(PayloadError):
        open_bytes(out.getvalue())


def test_decrypt_writes_nothing_when_the_end_is_forged() -> None:
    data = os.urandom(3 * CHUNK_SIZE)
    envelope = bytearray(seal(data))
    envelope[-1] ^= 1
    out = io.BytesIO()
    with pytest.raises(PayloadError):
        decrypt(io.BytesIO(bytes(envelope)), out, ALICE)
    assert out.getvalue() == b""


def test_decrypt_spools_large_payloads_on_disk_in_the_given_dir(tmp_path: Path) -> None:
    data = os.urandom(2 * 1024 * 1024)
    out = io.BytesIO()
    decrypt(io.BytesIO(seal(data)), out, ALICE, spool_dir=tmp_path)
    assert out.getvalue() == data
    assert list(tmp_path.iterdir()) == []  # the spool is unnamed and gone


def test_decrypt_to_path_is_atomic_and_private(tmp_path: Path) -> None:
    target = tmp_path / "report.txt"
    decrypt_to_path(io.BytesIO(seal(b"hello")), target, ALICE)
    assert target.read_bytes() == b"hello"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["report.txt"]


@pytest.mark.parametrize("damage", ["header", "payload"])
def test_decrypt_to_path_leaves_nothing_on_failure(tmp_path: Path, damage: str) -> None:
    envelope = bytearray(seal(os.urandom(CHUNK_SIZE + 10)))
    envelope[20 if damage == "header" else -5] ^= 1
    with pytest.raises((NoIdentityMatch, PayloadError)):
        decrypt_to_path(io.BytesIO(bytes(envelope)), tmp_path / "out", ALICE)
    assert list(tmp_path.iterdir()) == []


def test_decrypt_to_path_refuses_to_overwrite_unless_asked(tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.write_bytes(b"old")
    with pytest.raises(FileExistsError):
        decrypt_to_path(io.BytesIO(seal(b"new")), target, ALICE)
    assert target.read_bytes() == b"old"
    decrypt_to_path(io.BytesIO(seal(b"new")), target, ALICE, overwrite=True)
    assert target.read_bytes() == b"new"


def test_recipient_count_helper_rejects_garbage() -> None:
    with pytest.raises(HeaderError):
        envelope_recipient_count(b"GIF89a\x01\x01\x01")
    with pytest.raises(HeaderError):
        envelope_recipient_count(b"DROPENV")


def test_reading_from_a_trickling_source_works() -> None:
    class Trickle(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self._data = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def read(self, size: int = -1) -> bytes:
            return self._data.read(min(size, 1000) if size > 0 else 1000)

    data = os.urandom(CHUNK_SIZE + 5000)
    out = io.BytesIO()
    decrypt(Trickle(seal(data)), out, ALICE)
    assert out.getvalue() == data


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(size=st.integers(0, 3 * CHUNK_SIZE + 3), writes=st.lists(st.integers(1, 90000),
                                                                  max_size=8))
def test_property_sealer_round_trips_any_write_pattern(size: int, writes: list[int]) -> None:
    data = os.urandom(size)
    out = io.BytesIO()
    with Sealer(out, [ALICE.public]) as sealer:
        offset = 0
        for step in writes:
            sealer.write(data[offset:offset + step])
            offset += step
        sealer.write(data[offset:])
    assert len(out.getvalue()) == expected_size(size)
    assert open_bytes(out.getvalue()) == data


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(size=st.integers(0, 5 * CHUNK_SIZE + 3),
       writes=st.lists(st.tuples(st.integers(1, 3 * CHUNK_SIZE + 2),
                                 st.sampled_from(["bytes", "view", "bytearray", "array"])),
                       max_size=6))
def test_property_sealer_takes_views_and_mutable_buffers(
        size: int, writes: list[tuple[int, str]]) -> None:
    """Whatever buffer type and split, the chunking is the format's and the caller may reuse it."""
    data = os.urandom(size - size % 4)
    out = io.BytesIO()
    with Sealer(out, [ALICE.public]) as sealer:
        offset = 0
        for step, kind in [*writes, (len(data), "view")]:
            piece = data[offset:offset + step - step % 4]
            offset += len(piece)
            if kind == "bytes":
                sealer.write(piece)
            elif kind == "view":
                sealer.write(memoryview(data)[offset - len(piece):offset])
            elif kind == "bytearray":
                scratch = bytearray(piece)
                sealer.write(memoryview(scratch))
                scratch[:] = bytes(len(scratch))  # reused by the caller at once
            else:
                sealer.write(memoryview(array.array("I", piece)))  # a view of 4-byte items
    assert len(out.getvalue()) == expected_size(len(data))
    assert open_bytes(out.getvalue()) == data


def test_sealer_seals_large_writes_in_whole_chunks_as_they_come() -> None:
    out = io.BytesIO()
    sealer = Sealer(out, [ALICE.public])
    header_len = out.tell()
    sealer.write(memoryview(b"x" * (2 * CHUNK_SIZE + 5)))
    assert out.tell() == header_len + 2 * CHUNK_CIPHERTEXT_SIZE  # 5 bytes held
    sealer.write(b"y" * (CHUNK_SIZE - 5))
    assert out.tell() == header_len + 2 * CHUNK_CIPHERTEXT_SIZE  # a full chunk, maybe the last
    sealer.close()
    assert open_bytes(out.getvalue()) == b"x" * (2 * CHUNK_SIZE + 5) + b"y" * (CHUNK_SIZE - 5)
    assert len(out.getvalue()) == expected_size(3 * CHUNK_SIZE)


SAMPLE = seal(os.urandom(CHUNK_SIZE + 300), [BOB.public, ALICE.public])


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_property_any_corruption_raises_only_keys_errors(data: st.DataObject) -> None:
    envelope = bytearray(SAMPLE)
    kind = data.draw(st.sampled_from(["flip", "truncate", "insert"]))
    position = data.draw(st.integers(0, len(envelope) - 1))
    if kind == "flip":
        envelope[position] ^= data.draw(st.integers(1, 255))
    elif kind == "truncate":
        del envelope[position:]
    else:
        envelope[position:position] = data.draw(st.binary(min_size=1, max_size=40))
    out = io.BytesIO()
    with pytest.raises(KeysError):
        decrypt(io.BytesIO(bytes(envelope)), out, ALICE)
    assert out.getvalue() == b""
