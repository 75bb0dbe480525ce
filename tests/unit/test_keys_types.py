"""Key strings and key types: strict parsing, immutability, no secrets in repr."""

from __future__ import annotations

import base64
import hashlib

import pytest
from nacl.bindings import crypto_scalarmult

from keys import (
    KeyFormatError,
    KeysError,
    ReplyKeyPair,
    ReplyPublicKey,
    ResponderIdentity,
    ResponderPublicKey,
)
from keys.encoding import decode_key_string, encode_key_string
from keys.types import _SMALL_ORDER_POINTS, is_small_order

IDENTITY = ResponderIdentity(bytes(range(32)), bytes(range(32, 64)))


def test_public_key_round_trips_through_its_string() -> None:
    text = str(IDENTITY.public)
    assert text.startswith("drop-pub-") and text == text.lower()
    assert len(text) == len("drop-pub-") + 109
    assert ResponderPublicKey.parse(text) == IDENTITY.public
    assert hash(ResponderPublicKey.parse(text)) == hash(IDENTITY.public)


def test_secret_string_is_uppercase_and_round_trips() -> None:
    text = IDENTITY.to_secret_string()
    assert text.startswith("DROP-SECRET-") and text == text.upper()
    assert ResponderIdentity.from_secret_string(text) == IDENTITY


def test_reply_key_round_trips() -> None:
    pair = ReplyKeyPair(bytes(32 * [7]))
    text = str(pair.public)
    assert text.startswith("drop-reply-") and len(text) == len("drop-reply-") + 58
    assert ReplyPublicKey.parse(text) == pair.public


def test_fingerprint_is_label_hash_in_groups() -> None:
    digest = hashlib.sha256(b"drop/v1 fingerprint" + IDENTITY.public.payload).hexdigest()
    expected = " ".join(digest[i:i + 4].upper() for i in range(0, 20, 4))
    assert IDENTITY.public.fingerprint == expected


@pytest.mark.parametrize("secret_holder", [
    IDENTITY, ReplyKeyPair(bytes(32 * [9]))])
def test_repr_and_str_never_show_secret_bytes(secret_holder: object) -> None:
    secret = secret_holder.box_secret  # type: ignore[attr-defined]
    for shown in (repr(secret_holder), str(secret_holder)):
        assert secret.hex() not in shown
        assert "SECRET" not in shown


@pytest.mark.parametrize("obj", [IDENTITY, IDENTITY.public, ReplyKeyPair(bytes(32 * [3])),
                                 ReplyKeyPair(bytes(32 * [3])).public])
def test_key_objects_are_immutable(obj: object) -> None:
    with pytest.raises(AttributeError):
        obj._box_key = b"x"  # type: ignore[attr-defined]
    with pytest.raises(AttributeError):
        obj.anything = 1  # type: ignore[attr-defined]


def test_blocklist_is_exactly_the_keys_with_all_zero_shared_secret() -> None:
    scalar = hashlib.sha256(b"any scalar").digest()
    for point in _SMALL_ORDER_POINTS:
        for variant in (point, point[:31] + bytes([point[31] | 0x80])):
            assert is_small_order(variant)
            with pytest.raises(RuntimeError):  # libsodium refuses the all-zero output
                crypto_scalarmult(scalar, variant)
    assert not is_small_order(IDENTITY.public.box_key)


def test_small_order_keys_are_refused_by_constructors() -> None:
    with pytest.raises(KeyFormatError, match="small-order"):
        ReplyPublicKey(bytes(32))
    with pytest.raises(KeyFormatError, match="small-order"):
        ResponderPublicKey(_SMALL_ORDER_POINTS[2], bytes(32))


@pytest.mark.parametrize("bad, fragment", [
    ("drop-reply-" + "a" * 58, "does not start with 'drop-pub-'"),
    ("drop-pub-" + "a" * 108, "108 characters"),
    ("drop-pub-" + "a" * 107 + "==", "padding"),
    ("drop-pub-" + "A" * 109, "position 10"),
    ("drop-pub-" + "a" * 109, "checksum"),
])
def test_decoder_says_which_rule_failed(bad: str, fragment: str) -> None:
    with pytest.raises(KeyFormatError, match=fragment):
        ResponderPublicKey.parse(bad)


def test_wrong_kind_of_key_is_named() -> None:
    with pytest.raises(KeyFormatError, match="looks like a reply public key"):
        ResponderPublicKey.parse(str(ReplyKeyPair(bytes(32 * [5])).public))


def test_every_single_character_change_is_caught() -> None:
    text = str(IDENTITY.public)
    alphabet = "abcdefghijklmnopqrstuvwxyz234567"
    for index in range(len("drop-pub-"), len(text)):
        replacement = alphabet[(alphabet.index(text[index]) + 1) % 32]
        with pytest.raises(KeyFormatError):
            ResponderPublicKey.parse(text[:index] + replacement + text[index + 1:])


def test_encoding_helpers_agree() -> None:
    payload = bytes(range(36))
    text = encode_key_string("drop-reply-", payload[:32])
    assert decode_key_string("drop-reply-", text, 32) == payload[:32]


def test_non_string_input_is_a_key_error() -> None:
    with pytest.raises(KeysError):
        ResponderPublicKey.parse(b"drop-pub-" + b"a" * 109)  # type: ignore[arg-type]


@pytest.mark.parametrize("args", [(b"short", bytes(32)), (bytes(32), b"short")])
def test_identity_halves_must_be_32_bytes(args: tuple[bytes, bytes]) -> None:
    with pytest.raises(KeyFormatError):
        ResponderIdentity(*args)


def test_generated_identities_differ_and_sign() -> None:
    a, b = ResponderIdentity.generate(), ResponderIdentity.generate()
    assert a != b and a.public != b.public
    assert len(a.sign(b"x")) == 64


@pytest.mark.parametrize("prefix, length", [("drop-reply-", 32), ("drop-pub-", 64),
                                            ("DROP-SECRET-", 64)])
def test_decoder_agrees_with_the_standard_library_base32(prefix: str, length: int) -> None:
    # The decoder does its own base32 arithmetic; RFC 4648 via base64 is the reference.
    for seed in range(200):
        payload = hashlib.shake_256(bytes([seed, length])).digest(length)
        text = encode_key_string(prefix, payload)
        body = text[len(prefix):].upper()
        reference = base64.b32decode(body + "=" * (-len(body) % 8))[:length]
        assert decode_key_string(prefix, text, length) == reference == payload


def test_every_non_canonical_last_character_is_refused() -> None:
    # 36 raw bytes take 58 characters; the last one carries 2 unused bits, and
    # each of its three other settings must be refused, not silently decoded.
    text = encode_key_string("drop-reply-", bytes(range(32)))
    alphabet = "abcdefghijklmnopqrstuvwxyz234567"
    value = alphabet.index(text[-1])
    assert value & 0b11 == 0
    for spare in (1, 2, 3):
        with pytest.raises(KeyFormatError, match="canonical"):
            decode_key_string("drop-reply-", text[:-1] + alphabet[value | spare], 32)
