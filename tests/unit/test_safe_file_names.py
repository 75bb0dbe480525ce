"""Attachment names chosen by a stranger, turned into names `journalist save` may create.

`safe_file_name` promises one path component with no leading dot or dash, no
trailing dot or space, no control, format or reserved character, no Windows
device name and at most 200 UTF-8 bytes. Each named case below once broke (or
would break) one of those promises; the property test holds them for any text.
"""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from journalist_cli.safe_text import MAX_NAME_BYTES, safe_file_name

_WINDOWS_DEVICES = {"CON", "PRN", "AUX", "NUL", "CLOCK$", "CONIN$", "CONOUT$",
                    *(f"COM{i}" for i in range(10)), *(f"LPT{i}" for i in range(10)),
                    "COM\u00b9", "COM\u00b2", "COM\u00b3", "LPT\u00b9", "LPT\u00b2", "LPT\u00b3"}


def assert_safe(result: str) -> None:
    assert result
    assert "/" not in result and "\\" not in result and result not in (".", "..")
    assert not result.startswith((".", "-")), result
    assert not result.endswith((".", " ")), result
    assert result == result.strip()
    assert len(result.encode("utf-8")) <= MAX_NAME_BYTES
    assert not any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Zl", "Zp") for c in result)
    assert not any(c in '<>:"|?*' for c in result)
    assert result.split(".")[0].upper().rstrip(" ") not in _WINDOWS_DEVICES


@pytest.mark.parametrize(("name", "expected"), [
    # lstrip("-") used to run after the leading dots were stripped: a dotfile came back.
    ("-.bash_login", "bash_login"),
    ("--.profile", "profile"),
    (". -.ssh", "ssh"),
    # a trailing dot or space that Windows silently drops (and with it the extension)
    ("report.pdf. .", "report.pdf"),
    ("a. .", "a"),
    # fullwidth and other compatibility forms of '.', '/' and '\\' are the ASCII ones
    ("\uff0e\uff0e\uff0fetc\uff0fpasswd", "passwd"),
    ("\uff0ebashrc", "bashrc"),
    ("evil\uff3c..\uff3cx.exe", "x.exe"),
    ("\uff23\uff2f\uff2e.txt", "_CON.txt"),
    # a right-to-left override that would show "exe.jpg" as "gpj.exe"
    ("photo\u202egpj.exe", "photo_gpj.exe"),
    ("CON .txt", "_CON .txt"),
    ("nul", "_nul"),
])
def test_hostile_names(name: str, expected: str) -> None:
    result = safe_file_name(name, "fallback")
    assert result == expected
    assert_safe(result)


def test_truncation_keeps_the_extension_and_leaves_no_trailing_dot() -> None:
    result = safe_file_name("x" * 150 + "." * 100 + ".pdf", "fallback")
    assert result.endswith(".pdf")
    assert_safe(result)


@given(st.text(max_size=300))
def test_any_name_is_made_safe(name: str) -> None:
    assert_safe(safe_file_name(name, "attachment-1"))


@given(st.text(alphabet=st.sampled_from(".-  \uff0e\u3000\u2024\ufe52_a\u00df\u0301"), max_size=40))
def test_names_of_dots_dashes_and_spaces_are_made_safe(name: str) -> None:
    assert_safe(safe_file_name(name, "attachment-1"))
