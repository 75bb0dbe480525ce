"""Talking to tor's control port: the only module in the drop that imports stem.

`TorControl` wraps one authenticated control connection. Onion services are
added with a raw `ADD_ONION` (stem 1.8 has no proof-of-work parameters) and
are non-detached: tor removes them when this connection closes, so a crashed
drop leaves no service behind. Every stem exception leaves this module as an
`OnionError` subclass (see `dropbox.onion_errors`).
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import stem
import stem.connection
import stem.control
import stem.response

from dropbox.onion_command import (
    OnionRequest,
    PublishedOnion,
    UploadEvent,
    build_add_onion,
    parse_bootstrap,
    upload_progress,
)
from dropbox.onion_errors import (
    BootstrapTimeout,
    OnionError,
    PublicationTimeout,
    TorControlError,
)

# Codes tor uses to refuse ADD_ONION arguments it does not understand.
_REFUSED_ARGUMENT_CODES = {"512", "513", "552"}

ProgressCallback = Callable[[int, str], None]


def parse_add_onion(message: Any, request_key: str | None) -> tuple[str, str]:
    """(service id, key to persist) from tor's ADD_ONION reply.

    Raises TorControlError when the reply is a refusal or malformed.
    """
    try:
        stem.response.convert("ADD_ONION", message)
    except stem.ProtocolError as exc:
        raise TorControlError(f"tor refused to add the onion service: {message}") from exc
    key = request_key
    if message.private_key_type and message.private_key:
        key = f"{message.private_key_type}:{message.private_key}"
    if not message.service_id or key is None:
        raise TorControlError(f"tor's ADD_ONION reply lacks the service id or key: {message}")
    return str(message.service_id), key


@contextlib.contextmanager
def translated(what: str) -> Iterator[None]:
    """Re-raise stem's exceptions as TorControlError saying what we were doing."""
    try:
        yield
    except OnionError:
        raise
    except stem.connection.AuthenticationFailure as exc:
        raise TorControlError(f"tor refused authentication while {what}: {exc}") from exc
    except stem.SocketError as exc:
        raise TorControlError(f"lost the connection to tor while {what}: {exc}") from exc
    except stem.ControllerError as exc:
        raise TorControlError(f"tor failed while {what}: {exc}") from exc


class TorControl:
    """One authenticated control connection to a tor process."""

    def __init__(self, controller: stem.control.Controller, description: str) -> None:
        self._controller = controller
        self.description = description
        self._hs_events: list[UploadEvent] = []
        self._hs_events_changed = threading.Condition()
        self._listening = False

    @classmethod
    def connect(cls, spec: str) -> TorControl:
        """Connect to `spec`: a control socket path, or `host:port`.

        Raises TorControlError with what went wrong (missing socket, refused, auth).
        """
        with translated(f"connecting to tor's control port {spec}"):
            if ":" in spec and not spec.startswith("/"):
                host, port = spec.rsplit(":", 1)
                controller = stem.control.Controller.from_port(address=host, port=int(port))
            else:
                controller = stem.control.Controller.from_socket_file(path=spec)
            controller.authenticate()
        return cls(controller, spec)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._controller.close()

    def alive(self) -> bool:
        """False once the connection is gone (tor exited): our onions went with it."""
        return bool(self._controller.is_alive())

    def get_info(self, key: str) -> str:
        with translated(f"asking tor for {key}"):
            return str(self._controller.get_info(key))

    def send(self, command: str) -> str:
        """Send a raw command; return the reply text. Raises TorControlError unless 25x."""
        with translated(f"sending {command.split(' ', 1)[0]}"):
            reply = self._controller.msg(command)
        if not reply.content()[0][0].startswith("25"):
            raise TorControlError(f"tor refused {command.split(' ', 1)[0]}: {reply}")
        return str(reply)

    def hangup(self) -> None:
        """SIGHUP: reload the config and reset directory download back-off."""
        with translated("sending SIGHUP"):
            self._controller.signal(stem.Signal.HUP)

    def bootstrap(self) -> tuple[int, str]:
        return parse_bootstrap(self.get_info("status/bootstrap-phase"))

    def wait_for_bootstrap(self, timeout: float, on_progress: ProgressCallback | None = None,
                           interval: float = 0.2) -> None:
        """Return once tor is 100 % bootstrapped, reporting each new percentage.

        Raises BootstrapTimeout (with tor's last summary) after `timeout` seconds.
        """
        deadline = time.monotonic() + timeout
        last = -1
        while True:
            percent, summary = self.bootstrap()
            if percent != last and on_progress is not None:
                on_progress(percent, summary)
            last = percent
            if percent >= 100:
                return
            if time.monotonic() > deadline:
                raise BootstrapTimeout(f"tor reached only {percent} % ({summary}) "
                                       f"in {timeout:.0f} s")
            time.sleep(interval)

    def add_client_auth(self, service_id: str, control_key: str) -> None:
        """Let this tor (as a client) reach a client-auth onion; key is `x25519:<b64>`."""
        if not re.fullmatch(r"[a-z2-7]{56}", service_id) or not re.fullmatch(
                r"x25519:[A-Za-z0-9+/]{43}=", control_key):
            raise OnionError("malformed onion id or client-auth key")
        self.send(f"ONION_CLIENT_AUTH_ADD {service_id} {control_key}")

    def remove_client_auth(self, service_id: str) -> None:
        self.send(f"ONION_CLIENT_AUTH_REMOVE {service_id}")

    def publish(self, request: OnionRequest, timeout: float = 120.0) -> PublishedOnion:
        """Add the onion and return once every descriptor upload has finished.

        Removes the onion again if publication fails. Raises TorControlError,
        PublicationTimeout.
        """
        onion = self.add_onion(request)
        try:
            self.await_publication(onion.service_id, timeout)
        except BaseException:
            self.remove(onion.service_id)
            raise
        return onion

    def add_onion(self, request: OnionRequest) -> PublishedOnion:
        """ADD_ONION, without waiting for publication (works before tor has bootstrapped).

        Falls back to no proof-of-work, saying so in `.note`, when this tor
        refuses it. Raises TorControlError.
        """
        with self._hs_events_changed:
            if not self._listening:  # before ADD_ONION, so no upload event is missed
                with translated("listening for descriptor uploads"):
                    self._controller.add_event_listener(self._on_hs_desc,
                                                        stem.control.EventType.HS_DESC)
                self._listening = True
        want_pow = request.proof_of_work is not None
        with translated("adding the onion service"):
            reply = self._controller.msg(build_add_onion(request, with_pow=want_pow))
        note = ""
        if want_pow and not reply.is_ok() and reply.content()[0][0] in _REFUSED_ARGUMENT_CODES:
            note = f"this tor refused proof-of-work ({reply}); published without it"
            with translated("adding the onion service"):
                reply = self._controller.msg(build_add_onion(request, with_pow=False))
            want_pow = False
        service_id, key = parse_add_onion(reply, request.key)
        return PublishedOnion(service_id=service_id, key=key, proof_of_work=want_pow, note=note)

    def _on_hs_desc(self, event: Any) -> None:
        with self._hs_events_changed:
            self._hs_events.append(UploadEvent(str(event.action), str(event.address),
                                               str(event.directory_fingerprint or
                                                   event.directory or "")))
            self._hs_events_changed.notify_all()

    def await_publication(self, service_id: str, timeout: float) -> None:
        """Return once EVERY descriptor upload tor started for `service_id` has finished.

        stem's await_publication returns after the first HSDir; a client can then
        ask an HSDir that has nothing yet (SOCKS 0xF0). Raises PublicationTimeout.
        """
        deadline = time.monotonic() + timeout
        with self._hs_events_changed:
            while True:
                uploaded, pending = upload_progress(self._hs_events, service_id)
                if uploaded and not pending:
                    return
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise PublicationTimeout(
                        f"{service_id}.onion: {uploaded} descriptor uploads done, "
                        f"{pending} unfinished after {timeout:.0f} s")
                self._hs_events_changed.wait(min(remaining, 1.0))

    def remove(self, service_id: str) -> None:
        """Remove an onion we added; a no-op if tor or the service is already gone."""
        with contextlib.suppress(Exception):
            self._controller.remove_ephemeral_hidden_service(service_id)
