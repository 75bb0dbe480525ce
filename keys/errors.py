"""The one exception tree of `keys`.

    KeysError
    ├── KeyFormatError     a key string or key file is malformed
    ├── HeaderError        an envelope header is malformed or was tampered with
    ├── NoIdentityMatch    an envelope is not addressed to this key
    ├── PayloadError       an envelope body is damaged, cut short or tampered with
    ├── CodenameError      a codename was mistyped
    ├── MessageError       a decrypted message is not a valid drop message
    ├── PassphraseError    an identity file would not open with this passphrase
    └── SignatureError     a signature or certificate does not check out

Messages are written for the person who will read them. They never contain
secret material (no key bytes, no codename words).
"""

from __future__ import annotations


class KeysError(Exception):
    """Something in the drop format went wrong; the message says what."""

    def __init__(self, message: str | None = None) -> None:
        # Raised bare, an error reads as the first paragraph of its docstring.
        doc = (type(self).__doc__ or "").split("\n\n")[0]
        super().__init__(message or " ".join(doc.split()))


class KeyFormatError(KeysError):
    """This is not a valid key. Check that it was copied whole, with its prefix
    (for example `drop-pub-`), and that nothing was added or left out."""


class HeaderError(KeysError):
    """This envelope's header is damaged or was tampered with, so it cannot be
    trusted. Nothing was decrypted."""


class NoIdentityMatch(KeysError):
    """This envelope was not encrypted to your key. It may be meant for another
    responder, or you may have loaded the wrong identity."""


class PayloadError(KeysError):
    """This envelope's contents are damaged, incomplete or were tampered with.
    No part of it was released: an incomplete file is never written."""


class CodenameError(KeysError):
    """The codename was not typed as it was given: a codename is 8 words from
    the drop's word list, separated by spaces.

    `position` is the 1-based position of the first word that is not in the
    list (None when the problem is the number of words or the length);
    `count` is the number of words found. The offending word itself is kept
    out of the message because a codename is a secret and messages get logged.
    """

    def __init__(self, message: str, *, position: int | None = None,
                 count: int | None = None) -> None:
        super().__init__(message)
        self.position = position
        self.count = count


class MessageError(KeysError):
    """The decrypted message is not a valid drop message (it may come from a
    newer version of the drop, or it was built wrongly)."""


class PassphraseError(KeysError):
    """The identity file would not open: the passphrase is wrong, or the file
    was damaged."""


class SignatureError(KeysError):
    """A signature or an online-key certificate did not verify: it is forged,
    expired, or made by a key this drop does not know."""
