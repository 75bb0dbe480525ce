"""HKDF-SHA256 against RFC 5869, and the word list against its pinned hash."""

from __future__ import annotations

import hashlib
from importlib import resources

import pytest

from keys.kdf import hkdf_sha256


def test_rfc5869_test_case_1() -> None:
    okm = hkdf_sha256(bytes.fromhex("0b" * 22), bytes.fromhex("000102030405060708090a0b0c"),
                      bytes.fromhex("f0f1f2f3f4f5f6f7f8f9"), 42)
    assert okm.hex() == ("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
                         "34007208d5b887185865")


def test_rfc5869_test_case_3_empty_salt_and_info() -> None:
    okm = hkdf_sha256(bytes.fromhex("0b" * 22), b"", b"", 42)
    assert okm.hex() == ("8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d"
                         "9d201395faa4b61a96c8")


@pytest.mark.parametrize("length", [0, 8161])
def test_length_outside_rfc_bounds_is_refused(length: int) -> None:
    with pytest.raises(ValueError):
        hkdf_sha256(b"k", b"", b"", length)


def test_word_list_file_matches_the_hash_in_format_md() -> None:
    data = resources.files("keys").joinpath("data/eff_large_wordlist.txt").read_bytes()
    assert hashlib.sha256(data).hexdigest() == (
        "6d557f0693958fb5e650b68b5bee585eb82cf4da32965505c789e924743bc522")
