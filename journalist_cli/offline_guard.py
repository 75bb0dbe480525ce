"""A belt-and-braces guard: the air-gapped commands cannot open a network socket.

The air gap is the real protection; this makes a bug (or a library that
phones home) fail loudly instead of silently trying the network. It uses a
`sys.audit` hook (PEP 578): creating an inet socket, connecting, binding or
resolving a name raises while an air-gapped command runs in this thread.
Unix sockets stay allowed (they do not leave the machine).
"""

from __future__ import annotations

import functools
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar

from journalist_cli.errors import JournalistError

P = ParamSpec("P")
R = TypeVar("R")

AF_UNIX = 1
_NETWORK_EVENTS = {"socket.connect", "socket.bind", "socket.getaddrinfo",
                   "socket.gethostbyname", "socket.gethostbyaddr", "socket.sendto"}
_state = threading.local()
_installed = threading.Lock()
_hook_added = False


class NetworkForbidden(JournalistError):
    """An air-gapped command tried to use the network. This is a bug: report it."""


def _hook(event: str, args: tuple[Any, ...]) -> None:
    if not getattr(_state, "forbidden", 0):
        return
    if event == "socket.__new__":
        family = args[1] if len(args) > 1 else None
        if family != AF_UNIX:
            raise NetworkForbidden("this command runs on the air-gapped workstation and must "
                                   "not use the network")
    elif event in _NETWORK_EVENTS:
        raise NetworkForbidden("this command runs on the air-gapped workstation and must not "
                               "use the network")


def _install() -> None:
    global _hook_added
    with _installed:
        if not _hook_added:
            sys.addaudithook(_hook)
            _hook_added = True


@contextmanager
def forbid_network() -> Iterator[None]:
    """Inside this block (in this thread) any inet socket use raises NetworkForbidden."""
    _install()
    _state.forbidden = getattr(_state, "forbidden", 0) + 1
    try:
        yield
    finally:
        _state.forbidden -= 1


def offline(function: Callable[P, R]) -> Callable[P, R]:
    """Decorate an air-gapped command: it runs under `forbid_network()`."""

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with forbid_network():
            return function(*args, **kwargs)

    return wrapper
