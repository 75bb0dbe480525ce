"""ADD_ONION construction, reply parsing, upload tracking and error translation (no tor)."""

from __future__ import annotations

from typing import Any

import pytest
import stem
import stem.response

from dropbox.onion import TorControl, parse_add_onion, translated
from dropbox.onion_command import (
    OnionRequest,
    ProofOfWork,
    UploadEvent,
    build_add_onion,
    parse_bootstrap,
    upload_progress,
)
from dropbox.onion_errors import OnionError, TorControlError

KEY = "ED25519-V3:" + "A" * 86 + "=="
CLIENT = "N2NU7BSRL6YODZCYPN4CREB54TYLKGIE2KYOQWLFYC23ZJVCE5DQ"
SERVICE = "5rsyieeq3kwnwhiepd47ul5mcjpyxt2xlsseybffakennpbxhgojklqd"


def reply(text: str) -> stem.response.ControlMessage:
    return stem.response.ControlMessage.from_str(text, normalize=True)


def test_new_public_onion_with_pow_and_stream_limit() -> None:
    command = build_add_onion(OnionRequest(ports={80: "127.0.0.1:8080"}))
    assert command == ("ADD_ONION NEW:ED25519-V3 Flags=MaxStreamsCloseCircuit MaxStreams=64 "
                       "PoWDefensesEnabled=1 PoWQueueRate=250 PoWQueueBurst=2500 "
                       "Port=80,127.0.0.1:8080")


def test_stored_key_with_client_auth_and_no_pow() -> None:
    request = OnionRequest(ports={80: "127.0.0.1:8081"}, key=KEY, client_auth_v3=[CLIENT],
                           max_streams=None, proof_of_work=ProofOfWork(10, 20))
    command = build_add_onion(request, with_pow=False)
    assert command == (f"ADD_ONION {KEY} Flags=DiscardPK,V3Auth Port=80,127.0.0.1:8081 "
                       f"ClientAuthV3={CLIENT}")


@pytest.mark.parametrize("request_", [
    OnionRequest(ports={80: "127.0.0.1:8080\r\nSIGNAL HALT"}),
    OnionRequest(ports={80: "10.0.0.1:80"}),
    OnionRequest(ports={}),
    OnionRequest(ports={80: "127.0.0.1:8080"}, key="RSA1024:abc"),
    OnionRequest(ports={80: "127.0.0.1:8080"}, client_auth_v3=[CLIENT + "\r\nSIGNAL HALT"]),
])
def test_anything_that_could_smuggle_a_command_is_refused(request_: OnionRequest) -> None:
    with pytest.raises(OnionError):
        build_add_onion(request_)


def test_reply_with_a_new_key_is_parsed() -> None:
    message = reply(f"250-ServiceID={SERVICE}\n250-PrivateKey={KEY}\n250 OK\n")
    assert parse_add_onion(message, None) == (SERVICE, KEY)


def test_reply_for_a_stored_key_keeps_that_key() -> None:
    message = reply(f"250-ServiceID={SERVICE}\n250 OK\n")
    assert parse_add_onion(message, KEY) == (SERVICE, KEY)


def test_refusal_becomes_a_readable_error() -> None:
    with pytest.raises(TorControlError, match="refused to add the onion service"):
        parse_add_onion(reply("512 Bad arguments to ADD_ONION\n"), None)


def test_bootstrap_phase_parsing() -> None:
    phase = 'NOTICE BOOTSTRAP PROGRESS=14 TAG=handshake SUMMARY="Handshaking with a relay"'
    assert parse_bootstrap(phase) == (14, "Handshaking with a relay")
    assert parse_bootstrap("garbage")[0] == 0


def test_publication_waits_for_every_upload_not_the_first() -> None:
    events = [UploadEvent("UPLOAD", SERVICE, "$A"), UploadEvent("UPLOAD", SERVICE, "$B"),
              UploadEvent("UPLOAD", "other", "$C"), UploadEvent("UPLOADED", SERVICE, "$A")]
    assert upload_progress(events, SERVICE) == (1, 1)
    events.append(UploadEvent("UPLOADED", "UNKNOWN", "$C"))  # not ours: ignored
    assert upload_progress(events, SERVICE) == (1, 1)
    events.append(UploadEvent("FAILED", SERVICE, "$B"))
    assert upload_progress(events, SERVICE) == (1, 0)


def test_stem_errors_leave_as_onion_errors() -> None:
    with pytest.raises(TorControlError, match="while testing"):
        with translated("testing"):
            raise stem.SocketClosed("gone")
    with pytest.raises(TorControlError, match="tor failed while testing"):
        with translated("testing"):
            raise stem.InvalidRequest("552", "nope")


class FakeController:
    """Answers ADD_ONION like a tor without proof-of-work support."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    def add_event_listener(self, *_args: Any) -> None:
        pass

    def msg(self, command: str) -> stem.response.ControlMessage:
        self.sent.append(command)
        if "PoWDefensesEnabled" in command:
            return reply('512 Unrecognized option "PoWDefensesEnabled"\n')
        return reply(f"250-ServiceID={SERVICE}\n250-PrivateKey={KEY}\n250 OK\n")


def test_tor_without_proof_of_work_falls_back_and_says_so() -> None:
    fake = FakeController()
    onion = TorControl(fake, "fake").add_onion(OnionRequest(ports={80: "127.0.0.1:8080"}))
    assert len(fake.sent) == 2 and "PoW" not in fake.sent[1]
    assert onion.proof_of_work is False
    assert "refused proof-of-work" in onion.note
    assert onion.address == f"{SERVICE}.onion"
