"""`journalist import` warns when an envelope has more recipients than the team can be.

A compromised server can seal browsers' reports to a key of its own (via the
`/keys.json` it serves) and leave that key out of the keyring it lists in bundles,
so comparing keyrings is not enough. Each envelope's header says how many keys it
was sealed to; import compares that with the trusted keys (team list + own key).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import keys
from tests.journalist_support import Workstation, item, make_workstation, raw_bundle, seal

LOUD = "WARNING"


@pytest.fixture
def station(tmp_path: Path) -> Workstation:
    ws = make_workstation(tmp_path)
    (ws.home / "public.key").write_text(str(ws.identity.public) + "\n")  # as keygen writes it
    return ws


def _report(recipients: list[keys.Recipient]) -> bytes:
    message = keys.Report(category="threats", urgency="normal", text="secret",
                          reply_key=keys.ReplyKeyPair.generate().public)
    return seal(keys.encode_message(message), recipients)


def _import(station: Workstation, tmp_path: Path,
            entries: list[tuple[dict[str, Any], bytes]]) -> str:
    bundle = tmp_path / f"in{len(list(tmp_path.glob('*.drop')))}.drop"
    bundle.write_bytes(raw_bundle(entries, extra={
        "keyring": [{"name": "me", "public_key": str(station.identity.public)}]}))
    result = station.run("import", str(bundle))
    assert result.exit_code == 0, result.output
    return result.output


def _teammate(station: Workstation) -> keys.ResponderPublicKey:
    robin = keys.ResponderIdentity.generate().public
    assert station.run("team", "add", "robin", str(robin)).exit_code == 0
    return robin


def test_a_report_sealed_to_an_extra_key_is_warned_about(station: Workstation,
                                                         tmp_path: Path) -> None:
    attacker = keys.ResponderIdentity.generate().public
    blob = _report([station.identity.public, attacker])
    fields = item(blob)
    output = _import(station, tmp_path, [(fields, blob)])
    assert LOUD in output and fields["id"][:8] in output
    assert "up to 2 recipient keys" in output and "only 1" in output


def test_an_attachment_sealed_to_an_extra_key_is_warned_about(station: Workstation,
                                                              tmp_path: Path) -> None:
    robin = _teammate(station)
    report = _report([station.identity.public, robin])
    parent = item(report)
    extra = keys.ResponderIdentity.generate().public
    attachment = seal(b"photo", [station.identity.public, robin, extra])
    child = item(attachment, kind="attachment", reporter_id=parent["reporter_id"],
                 parent_id=parent["id"])
    output = _import(station, tmp_path, [(parent, report), (child, attachment)])
    assert LOUD in output and child["id"][:8] in output and parent["id"][:8] not in output


def test_reports_sealed_to_the_team_are_not_warned_about(station: Workstation,
                                                         tmp_path: Path) -> None:
    robin = _teammate(station)
    blob = _report([station.identity.public, robin])
    output = _import(station, tmp_path, [(item(blob), blob)])
    assert LOUD not in output and "note:" not in output


def test_the_own_key_counts_once_without_public_key_file(station: Workstation,
                                                         tmp_path: Path) -> None:
    (station.home / "public.key").unlink()
    robin = _teammate(station)
    fine = _report([station.identity.public, robin])
    assert LOUD not in _import(station, tmp_path, [(item(fine), fine)])
    too_many = _report([station.identity.public, robin,
                        keys.ResponderIdentity.generate().public])
    assert LOUD in _import(station, tmp_path, [(item(too_many), too_many)])


def test_a_reply_may_also_carry_the_reporter_key(station: Workstation,
                                                 tmp_path: Path) -> None:
    robin = _teammate(station)
    reporter = keys.ReplyKeyPair.generate().public
    reply = seal(b"reply", [reporter, robin, station.identity.public])
    output = _import(station, tmp_path, [(item(reply, kind="reply"), reply)])
    assert LOUD not in output and "note:" not in output
    wider = seal(b"reply", [reporter, robin, station.identity.public,
                            keys.ResponderIdentity.generate().public])
    fields = item(wider, kind="reply")
    output = _import(station, tmp_path, [(fields, wider)])
    assert LOUD not in output  # sealed by a responder, not by the server
    assert "note:" in output and "team list has keys yours does not" in output
    assert fields["id"][:8] in output


def test_only_the_new_envelopes_are_checked(station: Workstation, tmp_path: Path) -> None:
    blob = _report([station.identity.public, keys.ResponderIdentity.generate().public])
    fields = item(blob)
    assert LOUD in _import(station, tmp_path, [(fields, blob)])
    assert LOUD not in _import(station, tmp_path, [(fields, blob)])


def test_an_envelope_with_a_broken_header_is_noted(station: Workstation,
                                                   tmp_path: Path) -> None:
    fields = item(b"GIF89a not an envelope")
    output = _import(station, tmp_path, [(fields, b"GIF89a not an envelope")])
    assert "do not start like a drop envelope" in output and fields["id"][:8] in output
