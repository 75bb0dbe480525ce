"""What an attachment's first bytes say it is, next to what its name and media type say.

mat2 picks its cleaner from the file name, which the reporter chose (or an
attacker did). A JPEG named `IMG_0412.txt` is "cleaned" as text: mat2 exits 0
and the EXIF stays. `save --strip-metadata` claims "metadata removed" only when
the content, the extension and the media type agree on one type this module
recognises by its magic bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

SNIFF_BYTES = 16

# Media types that say nothing about the content: they agree with anything.
_UNSPECIFIC_MEDIA_TYPES = frozenset({"", "application/octet-stream", "binary/octet-stream"})


@dataclass(frozen=True)
class ContentKind:
    """A file type recognised by its first bytes, and the names and media types it goes by."""

    label: str
    extensions: frozenset[str]
    media_types: frozenset[str]
    media_type_prefixes: tuple[str, ...] = ()

    def takes_media_type(self, media_type: str) -> bool:
        return media_type in self.media_types or media_type.startswith(self.media_type_prefixes)


def _kind(label: str, extensions: str, media_types: str,
          prefixes: tuple[str, ...] = ()) -> ContentKind:
    return ContentKind(label, frozenset(extensions.split()), frozenset(media_types.split()),
                       prefixes)


JPEG = _kind("JPEG", "jpg jpeg jpe jfif", "image/jpeg image/pjpeg")
PNG = _kind("PNG", "png", "image/png")
GIF = _kind("GIF", "gif", "image/gif")
TIFF = _kind("TIFF", "tif tiff", "image/tiff")
PDF = _kind("PDF", "pdf", "application/pdf application/x-pdf")
# Office documents (OOXML, OpenDocument), EPUB and plain ZIP archives are all ZIP
# files; mat2 tells them apart by extension and fails on the wrong one.
ZIP = _kind("ZIP (office document or archive)",
            "zip docx xlsx pptx odt ods odp odg odc odf odi epub",
            "application/zip application/x-zip-compressed application/epub+zip",
            ("application/vnd.openxmlformats-officedocument.",
             "application/vnd.oasis.opendocument."))
ISO_MEDIA = _kind("MP4/MOV/HEIC", "mp4 m4v m4a mov heic heif",
                  "video/mp4 video/quicktime audio/mp4 audio/x-m4a image/heic image/heif")
FLAC = _kind("FLAC", "flac", "audio/flac audio/x-flac")
OGG = _kind("Ogg", "ogg oga ogv opus spx", "audio/ogg video/ogg application/ogg audio/opus")
WAV = _kind("WAV", "wav", "audio/wav audio/x-wav audio/wave audio/vnd.wave")
KINDS = (JPEG, PNG, GIF, TIFF, PDF, ZIP, ISO_MEDIA, FLAC, OGG, WAV)


def sniff(head: bytes) -> ContentKind | None:
    """The kind whose magic bytes `head` (the file's first SNIFF_BYTES) starts with."""
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith((b"GIF87a", b"GIF89a")):
        return GIF
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return TIFF
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return ZIP
    if head[4:8] == b"ftyp":
        return ISO_MEDIA
    if head.startswith(b"fLaC"):
        return FLAC
    if head.startswith(b"OggS"):
        return OGG
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return WAV
    return None


def extension(name: str) -> str:
    """The lower-case extension of `name` without its dot ("" when there is none)."""
    stem, dot, ext = name.rpartition(".")
    return ext.lower() if dot and stem else ""


class Verdict(Enum):
    """How far a mat2 run on a file can be trusted."""

    AGREE = "content, name and media type agree"
    WRONG_NAME = "mat2 would pick its cleaner for another type than the content"
    UNVERIFIED = "the type could not be confirmed"


@dataclass(frozen=True)
class TypeCheck:
    verdict: Verdict
    reason: str = ""


def check_type(name: str, media_type: str, head: bytes) -> TypeCheck:
    """Compare what `head` is with what `name` and `media_type` claim.

    WRONG_NAME when the extension names another recognised type than the
    content, or the content is recognised and the extension is not one of its
    own; UNVERIFIED when the content is not recognised, or only the media type
    disagrees; AGREE otherwise. `reason` is a phrase for the person saving.
    """
    content = sniff(head)
    ext = extension(name)
    shown_ext = f".{ext}" if ext else "no extension"
    if content is None:
        claimed = next((k for k in KINDS if ext in k.extensions), None)
        if claimed is not None:
            return TypeCheck(Verdict.WRONG_NAME,
                             f"the name ends in {shown_ext} but the content is not {claimed.label}")
        return TypeCheck(Verdict.UNVERIFIED, "the content's type is not one that can be checked")
    if ext not in content.extensions:
        return TypeCheck(Verdict.WRONG_NAME,
                         f"the content is {content.label} but the name has {shown_ext}")
    media = media_type.split(";")[0].strip().lower()
    if media not in _UNSPECIFIC_MEDIA_TYPES and not content.takes_media_type(media):
        return TypeCheck(Verdict.UNVERIFIED,
                         f"the content is {content.label} but its media type says {media}")
    return TypeCheck(Verdict.AGREE)
