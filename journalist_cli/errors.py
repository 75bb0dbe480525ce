"""The one exception tree of `journalist`, and the one place errors become exit codes.

    JournalistError            exit 1  something went wrong; the message says what
    ├── BadInputError          exit 3  a file, id or argument is unusable
    │   ├── BundleError        exit 3  a bundle is damaged or hostile; nothing was written
    │   └── InboxDamagedError  exit 3  `check` found files that do not match the inbox index
    ├── CryptoError            exit 4  decryption, signature or passphrase failure
    │   └── AuthError          exit 4  the server refused our signed request
    └── NetworkError           exit 5  the server could not be reached or answered oddly

`keys.KeysError` subclasses are mapped here too, so a command never has to
translate them. Usage errors (exit 2) are click's own.
"""

from __future__ import annotations

import sys

import click

import keys
from journalist_cli.safe_text import escape_terminal

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_BAD_INPUT = 3
EXIT_CRYPTO = 4
EXIT_NETWORK = 5

EXIT_CODES_EPILOG = """\b
Exit codes:
  0  success: everything asked for was done
  1  error (the message says what)
  2  usage: a wrong option or argument
  3  bad input: a damaged or hostile bundle, an unknown id, a malformed key,
     an inbox that `check` found damaged
  4  crypto or authentication: wrong passphrase, not addressed to you,
     tampered envelope, the server refused the signature
  5  network: the server could not be reached, or answered oddly
"""


class JournalistError(Exception):
    """Something went wrong; the message says what and `hint` what to try."""

    exit_code = EXIT_ERROR

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


class BadInputError(JournalistError):
    """An argument, a file or an id could not be used as given."""

    exit_code = EXIT_BAD_INPUT


class BundleError(BadInputError):
    """The bundle is damaged, cut short or was crafted to do harm. Nothing from it
    was written: get a fresh copy from the networked workstation."""


class InboxDamagedError(BadInputError):
    """The inbox's files and its index disagree (`journalist check` lists how): an
    envelope is missing or changed, or files are there that the index does not name."""


class CryptoError(JournalistError):
    """Decryption or a signature check failed."""

    exit_code = EXIT_CRYPTO


class AuthError(CryptoError):
    """The server refused our signature: the online key may have expired, the
    machine's clock may be wrong, or this key is not in the server's keyring."""


class NetworkError(JournalistError):
    """The server could not be reached, or it answered with something unexpected."""

    exit_code = EXIT_NETWORK


_KEYS_ERRORS: tuple[tuple[type[keys.KeysError], int, str | None], ...] = (
    (keys.PassphraseError, EXIT_CRYPTO, "type the passphrase again; it is case-sensitive"),
    (keys.NoIdentityMatch, EXIT_CRYPTO,
     "this envelope is for another key: check that you use the right workstation"),
    (keys.HeaderError, EXIT_CRYPTO, "the envelope was damaged or tampered with"),
    (keys.PayloadError, EXIT_CRYPTO, "the envelope was damaged or tampered with"),
    (keys.SignatureError, EXIT_CRYPTO, None),
    (keys.KeyFormatError, EXIT_BAD_INPUT, "copy the key again, whole, with its prefix"),
    (keys.MessageError, EXIT_BAD_INPUT, None),
)


def as_journalist_error(exc: BaseException) -> JournalistError | None:
    """The JournalistError that stands for `exc`, or None if `exc` is not a known kind."""
    if isinstance(exc, JournalistError):
        return exc
    if isinstance(exc, keys.KeysError):
        for kind, code, hint in _KEYS_ERRORS:
            if isinstance(exc, kind):
                mapped = JournalistError(str(exc) or (kind.__doc__ or "").strip(), hint)
                mapped.exit_code = code
                return mapped
        return JournalistError(str(exc))
    if isinstance(exc, OSError):
        where = f" ({exc.filename})" if exc.filename else ""
        return JournalistError(f"{exc.strerror or exc}{where}")
    return None


def report(error: JournalistError) -> int:
    """Print `error` as `journalist: error: ...` (+ hint) on stderr; return its exit code."""
    # Messages may quote a path or a server's words: never let them drive the terminal.
    click.echo(f"journalist: error: {escape_terminal(str(error), keep_newlines=False)}", err=True)
    if error.hint:
        click.echo(f"journalist: hint: {escape_terminal(error.hint, keep_newlines=False)}",
                   err=True)
    sys.stderr.flush()
    return error.exit_code
