"""`save --strip-metadata` says "metadata removed" only when it can stand behind it.

mat2 picks its cleaner from the file name the reporter chose: an image named
`*.txt` is "cleaned" as text, mat2 exits 0, and the metadata stays. The content's
first bytes, the extension and the media type must agree before the claim is made.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

import keys
from journalist_cli.content_type import Verdict, check_type
from tests.journalist_support import (
    Workstation,
    item,
    make_workstation,
    png_with_author,
    raw_bundle,
    report_envelope,
    seal,
)

JPEG_HEAD = b"\xff\xd8\xff\xe1\x00\x10Exif\x00\x00MM\x00*"
ZIP_HEAD = b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@pytest.fixture
def station(tmp_path: Path) -> Workstation:
    assert shutil.which("mat2"), "mat2 is a Debian dependency of the workstation (make sysdeps)"
    return make_workstation(tmp_path)


def _save_one(station: Workstation, tmp_path: Path, name: str, media_type: str,
              data: bytes) -> tuple[int, str, Path]:
    me = station.identity.public
    blob = seal(data, [me])
    ref = keys.AttachmentRef(name, len(data), media_type, hashlib.sha256(blob).hexdigest())
    report = report_envelope(me, "a file", keys.ReplyKeyPair.generate().public,
                             attachments=(ref,))
    parent = item(report)
    bundle = tmp_path / "in.drop"
    bundle.write_bytes(raw_bundle([(parent, report), (item(
        blob, kind="attachment", reporter_id=parent["reporter_id"], parent_id=parent["id"]),
        blob)]))
    assert station.run("import", str(bundle)).exit_code == 0
    out = tmp_path / "case"
    out.mkdir()
    result = station.run("save", str(parent["id"]), "--to", str(out), "--strip-metadata")
    return result.exit_code, result.output, out


def test_an_image_named_as_text_is_not_claimed_clean(station: Workstation,
                                                     tmp_path: Path) -> None:
    png = png_with_author(b"AUTHOR-NAME-41")
    code, output, out = _save_one(station, tmp_path, "IMG_0412.txt", "image/png", png)
    assert "metadata removed" not in output
    assert "NOT removed" in output and "PNG" in output
    assert code == 1 and "was not removed or could not be verified" in output
    assert (out / "IMG_0412.txt").read_bytes() == png  # saved as it came, and said so


def test_a_media_type_that_disagrees_is_not_verified(station: Workstation,
                                                     tmp_path: Path) -> None:
    code, output, out = _save_one(station, tmp_path, "me.png", "text/plain",
                                  png_with_author(b"AUTHOR-NAME-41"))
    assert "metadata removed" not in output and "not verified" in output
    assert code == 1
    assert b"AUTHOR-NAME-41" not in (out / "me.png").read_bytes()  # mat2 still ran


def test_a_name_that_promises_a_type_the_content_is_not(station: Workstation,
                                                        tmp_path: Path) -> None:
    code, output, out = _save_one(station, tmp_path, "photo.jpg", "image/jpeg",
                                  b"<svg onload=alert(1)>")
    assert "metadata removed" not in output and "NOT removed" in output and code == 1
    assert (out / "photo.jpg").read_bytes() == b"<svg onload=alert(1)>"


def test_when_everything_agrees_metadata_is_removed(station: Workstation,
                                                    tmp_path: Path) -> None:
    code, output, out = _save_one(station, tmp_path, "me.PNG", "image/png",
                                  png_with_author(b"AUTHOR-NAME-41"))
    assert code == 0 and "metadata removed" in output
    assert b"AUTHOR-NAME-41" not in (out / "me.PNG").read_bytes()


@pytest.mark.parametrize(("name", "media_type", "head", "verdict"), [
    ("a.jpg", "image/jpeg", JPEG_HEAD, Verdict.AGREE),
    ("a.JPEG", "", JPEG_HEAD, Verdict.AGREE),
    ("a.jpg", "application/octet-stream", JPEG_HEAD, Verdict.AGREE),
    ("IMG_0412.txt", "image/jpeg", JPEG_HEAD, Verdict.WRONG_NAME),
    ("IMG_0412", "image/jpeg", JPEG_HEAD, Verdict.WRONG_NAME),
    ("a.png", "image/png", JPEG_HEAD, Verdict.WRONG_NAME),
    ("a.jpg", "text/plain", JPEG_HEAD, Verdict.UNVERIFIED),
    ("a.pdf", "application/pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", Verdict.AGREE),
    ("a.pdf", "application/pdf", b"<html>", Verdict.WRONG_NAME),
    ("a.docx", DOCX, ZIP_HEAD, Verdict.AGREE),
    ("a.odt", "application/vnd.oasis.opendocument.text", ZIP_HEAD, Verdict.AGREE),
    ("a.docx", "image/png", ZIP_HEAD, Verdict.UNVERIFIED),
    ("a.txt", DOCX, ZIP_HEAD, Verdict.WRONG_NAME),
    ("notes.txt", "text/plain", b"hello, world", Verdict.UNVERIFIED),
    ("clip.mp4", "video/mp4", b"\x00\x00\x00\x18ftypmp42", Verdict.AGREE),
])
def test_type_check(name: str, media_type: str, head: bytes, verdict: Verdict) -> None:
    check = check_type(name, media_type, head)
    assert check.verdict is verdict
    assert (check.reason == "") is (verdict is Verdict.AGREE)
