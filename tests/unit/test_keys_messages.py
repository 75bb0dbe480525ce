"""Messages: encoding with length padding, strict decoding."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keys import (
    AttachmentRef,
    FollowUp,
    KeysError,
    MessageError,
    Reply,
    ReplyKeyPair,
    Report,
    decode_message,
    encode_message,
)

REPLY_KEY = ReplyKeyPair(bytes(32 * [8])).public
REF = AttachmentRef("photo.jpg", 1234, "image/jpeg", "ab" * 32)


@pytest.mark.parametrize("message", [
    Report("harassment", "normal", "text", REPLY_KEY),
    Report("doxing", "emergency", "ñ \U0001f6a8\n", REPLY_KEY, "es", (REF, REF)),
    FollowUp("more", (REF,)),
    FollowUp(""),
    Reply("We are on it.", "Trust & Safety"),
])
def test_round_trip_padded_to_512(message: Report | FollowUp | Reply) -> None:
    encoded = encode_message(message)
    assert len(encoded) % 512 == 0
    assert decode_message(encoded) == message
    assert set(json.loads(encoded)["pad"]) <= {" "}


def test_text_is_not_in_repr() -> None:
    assert "secret words" not in repr(Report("other", "normal", "secret words", REPLY_KEY))
    assert "secret words" not in repr(Reply("secret words", "R"))


@pytest.mark.parametrize("build", [
    lambda: Report("Bad Category", "normal", "", REPLY_KEY),
    lambda: Report("other", "high", "", REPLY_KEY),  # type: ignore[arg-type]
    lambda: Report("other", "normal", "x" * (1024 * 1024 + 1), REPLY_KEY),
    lambda: Report("other", "normal", "", "drop-reply-x"),  # type: ignore[arg-type]
    lambda: Report("other", "normal", "", REPLY_KEY, "not a tag"),
    lambda: FollowUp("", (REF,) * 101),
    lambda: FollowUp("", [REF]),  # type: ignore[arg-type]
    lambda: Reply("", ""),
    lambda: AttachmentRef("a/b", 1, "text/plain", "ab" * 32),
    lambda: AttachmentRef("a", True, "text/plain", "ab" * 32),
    lambda: AttachmentRef("a", 1, "text", "ab" * 32),
    lambda: AttachmentRef("a", 1, "text/plain", "AB" * 32),
])
def test_invalid_messages_cannot_be_built(build: object) -> None:
    with pytest.raises(MessageError):
        build()  # type: ignore[operator]


def test_encoder_refuses_other_objects() -> None:
    with pytest.raises(TypeError):
        encode_message("report")  # type: ignore[arg-type]


def test_oversize_input_is_refused_before_parsing() -> None:
    with pytest.raises(MessageError, match="4 MiB"):
        decode_message(b" " * (4 * 1024 * 1024 + 1))


def test_deep_nesting_is_a_message_error() -> None:
    with pytest.raises(MessageError):
        decode_message(b"[" * 200_000 + b"]" * 200_000)


@settings(max_examples=100, deadline=None)
@given(text=st.text(max_size=2000), responder=st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=64))
def test_property_replies_round_trip(text: str, responder: str) -> None:
    message = Reply(text, responder)
    encoded = encode_message(message)
    assert len(encoded) % 512 == 0
    assert decode_message(encoded) == message


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_property_random_bytes_raise_only_message_errors(data: bytes) -> None:
    try:
        decode_message(data)
    except KeysError as exc:
        assert isinstance(exc, MessageError)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_property_mutated_valid_messages_never_crash(data: st.DataObject) -> None:
    encoded = bytearray(encode_message(Report("other", "urgent", "hi", REPLY_KEY, "en", (REF,))))
    for _ in range(data.draw(st.integers(1, 4))):
        encoded[data.draw(st.integers(0, len(encoded) - 1))] = data.draw(st.integers(0, 255))
    try:
        decode_message(bytes(encoded))
    except MessageError:
        pass
