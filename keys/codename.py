"""Codenames (FORMAT.md §4): 8 words from the EFF large list, and what they derive.

A codename is the reporter's only credential. From it come the login secret
the server checks (never the codename itself) and the reply key pair that
replies are sealed to.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Final
from unicodedata import normalize as unicode_normalize

from keys.errors import CodenameError
from keys.kdf import hkdf_sha256
from keys.types import ReplyKeyPair

CODENAME_WORDS: Final = 8
MAX_INPUT_CHARS: Final = 256
_SALT: Final = b"drop/v1 codename"
_LOGIN_INFO: Final = b"drop/v1 login"
_REPLY_INFO: Final = b"drop/v1 reply-key"
# Unicode White_Space characters that survive NFKC (the others, such as
# U+00A0 and U+3000, become U+0020 under NFKC). Listed, not `\s`, so that
# every implementation splits identically.
_SEPARATORS: Final = re.compile("[\t\n\x0b\x0c\r \x85\u1680\u2028\u2029]+")


@cache
def wordlist() -> tuple[str, ...]:
    """The 7,776 words, in list order."""
    text = resources.files("keys").joinpath("data/eff_large_wordlist.txt").read_text("utf-8")
    words = tuple(text.split())
    if len(words) != 7776 or len(set(words)) != 7776:
        raise RuntimeError("keys/data/eff_large_wordlist.txt is damaged: expected 7,776 words")
    return words


@cache
def _word_set() -> frozenset[str]:
    return frozenset(wordlist())


def generate_codename() -> str:
    """A fresh codename: 8 words chosen uniformly with `secrets`, one space apart."""
    words = wordlist()
    return " ".join(secrets.choice(words) for _ in range(CODENAME_WORDS))


def normalize_codename(text: str) -> str:
    """Return the canonical form of a typed codename.

    Raises CodenameError (with `.position` or `.count`) when the input is
    over 256 characters, has a number of words other than 8, or has a word
    that is not in the list.
    """
    if not isinstance(text, str):
        raise CodenameError("a codename must be text")
    if len(text) > MAX_INPUT_CHARS:
        raise CodenameError("that is far too long to be a codename: a codename is 8 words")
    folded = unicode_normalize("NFKC", text).lower()
    words = [word for word in _SEPARATORS.split(folded) if word]
    if len(words) != CODENAME_WORDS:
        raise CodenameError(
            f"a codename has {CODENAME_WORDS} words, but {len(words)} were entered",
            count=len(words))
    known = _word_set()
    for position, word in enumerate(words, start=1):
        if word not in known:
            raise CodenameError(
                f"word {position} of the codename is not in the word list; check its spelling",
                position=position, count=len(words))
    return " ".join(words)


@dataclass(frozen=True)
class CodenameKeys:
    """What a codename derives: the login secret and the reply key pair."""

    login_secret: bytes = field(repr=False)
    reply: ReplyKeyPair


def derive_codename(codename: str) -> CodenameKeys:
    """Normalise `codename` and derive its keys (FORMAT.md §4).

    Raises CodenameError as `normalize_codename` does.
    """
    canonical = normalize_codename(codename).encode("utf-8")
    login_secret = hkdf_sha256(canonical, _SALT, _LOGIN_INFO, 32)
    reply_seed = hkdf_sha256(canonical, _SALT, _REPLY_INFO, 32)
    return CodenameKeys(login_secret=login_secret, reply=ReplyKeyPair(reply_seed))
