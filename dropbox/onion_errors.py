"""Errors raised while running tor and publishing the drop's onion services.

    OnionError
     ├── TorNotInstalled      tor is missing on this machine
     ├── TorStartError        tor would not start, or a private network would not form
     ├── TorControlError      tor's control port refused us or a command
     ├── BootstrapTimeout     tor did not reach the Tor network in time
     ├── PublicationTimeout   the onion descriptor did not reach its directories in time
     └── OnionKeyError        an onion key or client-auth file is unreadable or malformed

Each message is written for the operator who reads it on their terminal.
"""

from __future__ import annotations


class OnionError(Exception):
    """Something went wrong running tor or publishing an onion service."""


class TorNotInstalled(OnionError):
    """tor is not installed on this machine; install the `tor` package."""


class TorStartError(OnionError):
    """tor did not start (or a private test network did not come up); see its log."""


class TorControlError(OnionError):
    """tor's control connection failed or tor refused a command."""


class BootstrapTimeout(OnionError):
    """tor could not connect to the Tor network in time (is this machine offline?)."""


class PublicationTimeout(OnionError):
    """The onion service descriptor was not uploaded to its directories in time."""


class OnionKeyError(OnionError):
    """An onion service key or a client-authorisation file is unreadable or malformed."""
