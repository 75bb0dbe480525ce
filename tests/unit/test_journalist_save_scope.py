"""`journalist save` takes a message's attachments from those filed under that message.

A report names its attachments by the SHA-256 of their envelopes. Looking
that hash up across the whole inbox would let one report pull in, and
rename, an attachment that arrived with another report (another reporter's).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import keys
from tests.journalist_support import (
    Workstation,
    item,
    raw_bundle,
    report_envelope,
    seal,
)


def test_an_attachment_of_another_conversation_is_not_saved(station: Workstation,
                                                            tmp_path: Path) -> None:
    me = station.identity.public
    theirs = seal(b"reporter B's photo", [me])
    b_report = report_envelope(me, "mine", keys.ReplyKeyPair.generate().public,
                               attachments=(keys.AttachmentRef(
                                   "photo.jpg", 18, "image/jpeg",
                                   hashlib.sha256(theirs).hexdigest()),))
    b_item = item(b_report)
    # Reporter A's report claims B's attachment envelope under another name.
    a_report = report_envelope(me, "look", keys.ReplyKeyPair.generate().public,
                               attachments=(keys.AttachmentRef(
                                   "claimed.jpg", 18, "image/jpeg",
                                   hashlib.sha256(theirs).hexdigest()),))
    a_item = item(a_report)
    bundle = tmp_path / "in.drop"
    bundle.write_bytes(raw_bundle([
        (b_item, b_report),
        (item(theirs, kind="attachment", reporter_id=b_item["reporter_id"],
              parent_id=b_item["id"]), theirs),
        (a_item, a_report)]))
    assert station.run("import", str(bundle)).exit_code == 0
    out = tmp_path / "out"
    out.mkdir()
    result = station.run("save", str(a_item["id"]), "--to", str(out))
    assert result.exit_code != 0 and "no attachments" in result.output
    assert list(out.iterdir()) == []
    saved = station.run("save", str(b_item["id"]), "--to", str(out))
    assert saved.exit_code == 0, saved.output
    assert [p.name for p in out.iterdir()] == ["photo.jpg"]
