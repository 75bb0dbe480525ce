"""`journalist reply`: which reporter a reply is bound to, and to which key it is sealed.

The server writes the bundle labels (kind, reporter_id, reply_key) and chooses
the ids, so none of them may decide where a reply goes: the key comes only
from inside decrypted reports, and a short id that could mean two
conversations is refused.
"""

from __future__ import annotations

import io
from typing import Any

import keys
from journalist_cli.inbox import Inbox
from journalist_cli.workstation import Workstation as Station
from tests.journalist_support import (
    Workstation,
    item,
    new_id,
    raw_bundle,
    report_envelope,
    seal,
)


def _import(station: Workstation, entries: list[tuple[dict[str, Any], bytes]]) -> None:
    bundle = station.home.parent / f"in-{new_id()[:8]}.drop"
    bundle.write_bytes(raw_bundle(entries))
    result = station.run("import", str(bundle))
    assert result.exit_code == 0, result.output


def _outgoing(station: Workstation) -> list[tuple[str, bytes]]:
    """(reporter id, envelope) of every reply queued on the workstation."""
    with Inbox(Station(station.home)) as inbox:
        return [(e.item.reporter_id, (inbox.envelopes_dir / e.item.id).read_bytes())
                for e in inbox.items.values() if e.outgoing]


def _opens_for(envelope: bytes, reader: keys.ReplyKeyPair) -> bool:
    try:
        keys.decrypt(io.BytesIO(envelope), io.BytesIO(), reader)
    except keys.NoIdentityMatch:
        return False
    return True


def _assert_refused_as_forged(station: Workstation, reporter_id: str) -> None:
    result = station.run("reply", reporter_id[:8], "--text", "meet at the usual place")
    assert result.exit_code == 4, result.output
    assert "looks forged" in result.output
    assert _outgoing(station) == []
    assert list((station.home / "inbox").glob(".reply-*")) == []


def test_a_report_relabelled_followup_with_a_listed_server_key_is_refused(
        station: Workstation) -> None:
    reporter, server = keys.ReplyKeyPair.generate(), keys.ReplyKeyPair.generate()
    blob = report_envelope(station.identity.public, "they know where I live", reporter.public)
    rid = new_id()
    _import(station, [(item(blob, kind="followup", reporter_id=rid,
                            reply_key=str(server.public)), blob)])
    _assert_refused_as_forged(station, rid)


def test_a_relabelled_report_still_gives_the_key_inside_it(station: Workstation) -> None:
    reporter = keys.ReplyKeyPair.generate()
    blob = report_envelope(station.identity.public, "they know where I live", reporter.public)
    fields = item(blob, kind="followup")
    _import(station, [(fields, blob)])
    result = station.run("reply", fields["reporter_id"][:8], "--text", "we are on it")
    assert result.exit_code == 0, result.output
    assert f"report {fields['id'][:8]}" in result.output
    assert '"they know where I live"' in result.output
    ((filed_under, envelope),) = _outgoing(station)
    assert filed_under == fields["reporter_id"] and _opens_for(envelope, reporter)


def test_a_conversation_without_a_report_never_falls_back_to_the_listed_key(
        station: Workstation) -> None:
    server = keys.ReplyKeyPair.generate()
    followup = seal(keys.encode_message(keys.FollowUp(text="me again")),
                    [station.identity.public])
    fields = item(followup, kind="followup", reply_key=str(server.public))
    _import(station, [(fields, followup)])
    _assert_refused_as_forged(station, fields["reporter_id"])


def test_reports_with_different_keys_in_one_conversation_are_refused(
        station: Workstation) -> None:
    reporter, server = keys.ReplyKeyPair.generate(), keys.ReplyKeyPair.generate()
    rid = new_id()
    real = report_envelope(station.identity.public, "the real one", reporter.public)
    # Anyone can seal a report to a responder's public key, the server included.
    planted = report_envelope(station.identity.public, "a planted one", server.public)
    _import(station, [(item(real, reporter_id=rid), real),
                      (item(planted, kind="reply", reporter_id=rid), planted)])
    _assert_refused_as_forged(station, rid)
    assert "different reply keys" in station.run("reply", rid, "--text", "x").output


def test_the_bound_report_is_shown_escaped_before_the_reply_is_sealed(
        station: Workstation) -> None:
    reporter = keys.ReplyKeyPair.generate()
    blob = report_envelope(station.identity.public,
                           "\x1b]0;owned\x07\x1b[2Jfirst line\nsecond line", reporter.public)
    fields = item(blob, reply_key=str(reporter.public))
    _import(station, [(fields, blob)])
    result = station.run("reply", fields["reporter_id"][:8], "--text", "hello")
    assert result.exit_code == 0, result.output
    shown = result.output.splitlines()[0]
    assert fields["id"][:8] in shown and "first line" in shown
    assert "\x1b" not in result.output and "\x07" not in result.output
    assert "second line" not in result.output


def _two_conversations(station: Workstation) -> tuple[dict[str, Any], dict[str, Any],
                                                      keys.ReplyKeyPair, keys.ReplyKeyPair]:
    """Alice's conversation id and Bob's message id both start with 9c1e."""
    alice, bob = keys.ReplyKeyPair.generate(), keys.ReplyKeyPair.generate()
    a_blob = report_envelope(station.identity.public, "alice's report", alice.public)
    b_blob = report_envelope(station.identity.public, "bob's report", bob.public)
    a_fields = item(a_blob, id="1" * 32, reporter_id="9c1e" + "a" * 28,
                    reply_key=str(alice.public))
    b_fields = item(b_blob, id="9c1e" + "0" * 28, reporter_id="b" * 32,
                    reply_key=str(bob.public))
    _import(station, [(a_fields, a_blob), (b_fields, b_blob)])
    return a_fields, b_fields, alice, bob


def test_a_reference_matching_two_conversations_is_refused(station: Workstation) -> None:
    _two_conversations(station)
    result = station.run("reply", "9c1e", "--text", "Bob: your case number is 17")
    assert result.exit_code == 3 and "ambiguous" in result.output
    assert "more characters" in result.output
    assert _outgoing(station) == []


def test_a_longer_reference_picks_the_one_conversation(station: Workstation) -> None:
    _, b_fields, alice, bob = _two_conversations(station)
    result = station.run("reply", "9c1e0", "--text", "Bob: your case number is 17")
    assert result.exit_code == 0, result.output
    ((filed_under, envelope),) = _outgoing(station)
    assert filed_under == b_fields["reporter_id"]
    assert _opens_for(envelope, bob) and not _opens_for(envelope, alice)


def test_delete_of_an_ambiguous_conversation_deletes_and_queues_nothing(
        station: Workstation) -> None:
    _two_conversations(station)
    result = station.run("delete", "9c1e", "--conversation", "--on-server")
    assert result.exit_code == 3 and "ambiguous" in result.output
    with Inbox(Station(station.home)) as inbox:
        assert len(inbox.items) == 2 and inbox.pending_reporter_deletions == []


def test_a_message_prefix_shared_within_one_conversation_resolves(
        station: Workstation) -> None:
    reporter = keys.ReplyKeyPair.generate()
    rid = "c" * 32
    report = report_envelope(station.identity.public, "first", reporter.public)
    followup = seal(keys.encode_message(keys.FollowUp(text="second")),
                    [station.identity.public])
    _import(station, [(item(report, id="7777" + "1" * 28, reporter_id=rid), report),
                      (item(followup, id="7777" + "2" * 28, kind="followup",
                            reporter_id=rid), followup)])
    result = station.run("reply", "7777", "--text", "both received")
    assert result.exit_code == 0, result.output
    ((filed_under, envelope),) = _outgoing(station)
    assert filed_under == rid and _opens_for(envelope, reporter)


def test_an_unknown_or_too_short_reference_is_bad_input(station: Workstation) -> None:
    _two_conversations(station)
    for reference in ("9c1", "dead"):
        result = station.run("reply", reference, "--text", "hello")
        assert result.exit_code == 3 and "no conversation or message" in result.output
