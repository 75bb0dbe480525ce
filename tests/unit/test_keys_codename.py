"""Codenames: generation, normalisation errors that name the problem, derivation."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import keys.codename
from keys import CodenameError, KeysError, derive_codename, generate_codename, normalize_codename
from keys.codename import wordlist


def test_wordlist_is_the_eff_large_list() -> None:
    words = wordlist()
    assert len(words) == 7776
    assert words[0] == "abacus" and words[-1] == "zoom"
    assert {"drop-down", "felt-tip", "t-shirt", "yo-yo"} <= set(words)


def test_generated_codenames_are_eight_known_words_and_differ() -> None:
    seen = {generate_codename() for _ in range(50)}
    assert len(seen) == 50
    for codename in seen:
        words = codename.split(" ")
        assert len(words) == 8 and set(words) <= set(wordlist())
        assert normalize_codename(codename) == codename


def test_normalisation_folds_case_width_and_whitespace() -> None:
    codename = generate_codename()
    words = codename.split()
    typed = "\u3000 " + "\t".join(w.upper() for w in words[:4]) + "\n\u2028" + \
        "\u00a0".join(words[4:]) + "  "
    assert normalize_codename(typed) == codename
    assert derive_codename(typed) == derive_codename(codename)


def test_wrong_count_is_reported_with_the_count() -> None:
    with pytest.raises(CodenameError, match="8 words, but 7") as raised:
        normalize_codename(" ".join(generate_codename().split()[:7]))
    assert raised.value.count == 7 and raised.value.position is None


def test_unknown_word_is_reported_by_position_without_echoing_it() -> None:
    words = generate_codename().split()
    words[5] = "qqqzzz"
    with pytest.raises(CodenameError) as raised:
        normalize_codename(" ".join(words))
    assert raised.value.position == 6
    message = str(raised.value)
    assert "word 6" in message and "qqqzzz" not in message
    assert all(word not in message.split() for word in words)


def test_overlong_input_is_refused_before_any_work(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_work(form: str, text: str) -> str:
        raise AssertionError("normalisation ran on over-long input")

    monkeypatch.setattr(keys.codename, "unicode_normalize", no_work)
    with pytest.raises(CodenameError, match="too long"):
        normalize_codename("a" * 257)
    with pytest.raises(CodenameError, match="too long"):
        normalize_codename("\u00a0" * 10_000_000)


def test_non_string_is_a_codename_error() -> None:
    with pytest.raises(CodenameError):
        normalize_codename(b"abacus" * 8)  # type: ignore[arg-type]


def test_derivation_separates_login_and_reply() -> None:
    keys = derive_codename(generate_codename())
    assert len(keys.login_secret) == 32
    assert keys.login_secret != keys.reply.box_secret
    assert keys.login_secret.hex() not in repr(keys)
    assert keys.reply.box_secret.hex() not in repr(keys)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_property_any_text_is_accepted_or_a_codename_error(text: str) -> None:
    try:
        result = normalize_codename(text)
    except KeysError as exc:
        assert isinstance(exc, CodenameError)
    else:
        assert len(result.split(" ")) == 8
