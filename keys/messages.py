"""Messages inside envelopes (FORMAT.md §5): strict, versioned UTF-8 JSON.

Decoding accepts exactly the documented shape and nothing else, so that a
message means the same thing to every implementation.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Final, Literal, NoReturn

from keys.errors import KeyFormatError, MessageError
from keys.types import ReplyPublicKey

FORMAT_VERSION: Final = 1
MAX_MESSAGE_BYTES: Final = 4 * 1024 * 1024
MAX_TEXT_BYTES: Final = 1024 * 1024
MAX_ATTACHMENTS: Final = 100
MAX_SAFE_INTEGER: Final = 2**53 - 1
PAD_BLOCK: Final = 512
URGENCIES: Final = ("normal", "urgent", "emergency")
Urgency = Literal["normal", "urgent", "emergency"]

_CATEGORY: Final = re.compile(r"[a-z0-9_-]{1,32}")
_LANG: Final = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*")
_MEDIA_TYPE: Final = re.compile(
    r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}")
_SHA256_HEX: Final = re.compile(r"[0-9a-f]{64}")
_CONTROL: Final = re.compile("[\x00-\x1f\x7f-\x9f]")


def _fail(message: str) -> NoReturn:
    raise MessageError(message)


def _check_str(value: object, what: str) -> str:
    if not isinstance(value, str):
        _fail(f"{what} must be a string")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        _fail(f"{what} contains an unpaired surrogate, which is not valid Unicode")
    return value


def _check_text(value: object) -> str:
    text = _check_str(value, "text")
    if len(text.encode("utf-8")) > MAX_TEXT_BYTES:
        _fail("text is longer than 1 MiB")
    return text


def _check_label(value: object, what: str, max_chars: int) -> str:
    text = _check_str(value, what)
    if not 1 <= len(text) <= max_chars:
        _fail(f"{what} must be 1 to {max_chars} characters")
    if _CONTROL.search(text):
        _fail(f"{what} must not contain control characters")
    return text


@dataclass(frozen=True)
class AttachmentRef:
    """Points at an attachment envelope sent alongside a report or follow-up."""

    name: str
    size: int
    media_type: str
    envelope_sha256: str

    def __post_init__(self) -> None:
        name = _check_label(self.name, "attachment name", 255)
        if "/" in name or "\\" in name or name in (".", ".."):
            _fail("attachment name must be a file name, not a path")
        if isinstance(self.size, bool) or not isinstance(self.size, int) \
                or not 0 <= self.size <= MAX_SAFE_INTEGER:
            _fail("attachment size must be an integer from 0 to 2^53-1")
        if not isinstance(self.media_type, str) or not _MEDIA_TYPE.fullmatch(self.media_type):
            _fail("attachment media_type must look like 'type/subtype'")
        if not isinstance(self.envelope_sha256, str) \
                or not _SHA256_HEX.fullmatch(self.envelope_sha256):
            _fail("attachment envelope_sha256 must be 64 lowercase hex digits")


def _check_attachments(value: object) -> tuple[AttachmentRef, ...]:
    if not isinstance(value, tuple) or not all(isinstance(a, AttachmentRef) for a in value):
        _fail("attachments must be a tuple of AttachmentRef")
    if len(value) > MAX_ATTACHMENTS:
        _fail(f"a message lists at most {MAX_ATTACHMENTS} attachments")
    return value


@dataclass(frozen=True)
class Report:
    """A reporter's first message."""

    category: str
    urgency: Urgency
    text: str = field(repr=False)
    reply_key: ReplyPublicKey
    lang: str | None = None
    attachments: tuple[AttachmentRef, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.category, str) or not _CATEGORY.fullmatch(self.category):
            _fail("category must be 1 to 32 of a-z, 0-9, '_' and '-'")
        if self.urgency not in URGENCIES:
            _fail("urgency must be 'normal', 'urgent' or 'emergency'")
        _check_text(self.text)
        if not isinstance(self.reply_key, ReplyPublicKey):
            _fail("reply_key must be a ReplyPublicKey")
        if self.lang is not None and (not isinstance(self.lang, str) or len(self.lang) > 35
                                      or not _LANG.fullmatch(self.lang)):
            _fail("lang must be null or a language tag such as 'en' or 'pt-BR'")
        _check_attachments(self.attachments)


@dataclass(frozen=True)
class FollowUp:
    """A reporter's later message in the same conversation."""

    text: str = field(repr=False)
    attachments: tuple[AttachmentRef, ...] = ()

    def __post_init__(self) -> None:
        _check_text(self.text)
        _check_attachments(self.attachments)


@dataclass(frozen=True)
class Reply:
    """A responder's answer, sealed to the reporter's reply key."""

    text: str = field(repr=False)
    responder: str

    def __post_init__(self) -> None:
        _check_text(self.text)
        _check_label(self.responder, "responder", 64)


Message = Report | FollowUp | Reply


def _attachment_json(ref: AttachmentRef) -> dict[str, Any]:
    return {"name": ref.name, "size": ref.size, "media_type": ref.media_type,
            "envelope_sha256": ref.envelope_sha256}


def _as_json(message: Message) -> dict[str, Any]:
    if isinstance(message, Report):
        return {"v": FORMAT_VERSION, "type": "report", "category": message.category,
                "urgency": message.urgency, "text": message.text,
                "reply_key": str(message.reply_key), "lang": message.lang,
                "attachments": [_attachment_json(a) for a in message.attachments]}
    if isinstance(message, FollowUp):
        return {"v": FORMAT_VERSION, "type": "followup", "text": message.text,
                "attachments": [_attachment_json(a) for a in message.attachments]}
    if isinstance(message, Reply):
        return {"v": FORMAT_VERSION, "type": "reply", "text": message.text,
                "responder": message.responder}
    raise TypeError("encode_message takes a Report, FollowUp or Reply")


def encode_message(message: Message) -> bytes:
    """UTF-8 JSON of `message`, padded with spaces in "pad" to a multiple of 512 bytes."""
    body = _as_json(message)
    body["pad"] = ""
    encoded = json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    size = len(encoded.encode("utf-8"))
    body["pad"] = " " * (-size % PAD_BLOCK)
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"),
                      allow_nan=False).encode("utf-8")


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            _fail(f"the key {key!r} appears twice in one object")
        result[key] = value
    return result


def _reject_number(text: str) -> NoReturn:
    _fail(f"numbers must be integers without fraction or exponent, not {text[:20]!r}")


def _parse_int(text: str) -> int:
    if len(text) > 16:
        _fail("an integer in the message is too large")
    return int(text)


def _expect_keys(obj: dict[str, Any], required: set[str], what: str, *,
                 allow_pad: bool = False) -> None:
    keys = set(obj) - {"pad"} if allow_pad else set(obj)
    if missing := required - keys:
        _fail(f"{what} is missing {', '.join(sorted(missing))}")
    if unknown := keys - required:
        _fail(f"{what} has unknown keys: {', '.join(sorted(repr(k) for k in unknown))}")


def _attachments_from_json(value: object) -> tuple[AttachmentRef, ...]:
    if not isinstance(value, list):
        _fail("attachments must be an array")
    refs = []
    for item in value:
        if not isinstance(item, dict):
            _fail("each attachment must be an object")
        _expect_keys(item, {"name", "size", "media_type", "envelope_sha256"}, "an attachment")
        refs.append(AttachmentRef(item["name"], item["size"], item["media_type"],
                                  item["envelope_sha256"]))
    return _check_attachments(tuple(refs))


_FIELDS: Final = {
    "report": {"v", "type", "category", "urgency", "text", "reply_key", "lang", "attachments"},
    "followup": {"v", "type", "text", "attachments"},
    "reply": {"v", "type", "text", "responder"},
}


def decode_message(data: bytes) -> Message:
    """Parse and validate a message. Raises MessageError saying what is wrong."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError("decode_message takes bytes")
    if len(data) > MAX_MESSAGE_BYTES:
        _fail("the message is larger than 4 MiB")
    try:
        text = bytes(data).decode("utf-8")
        obj = json.loads(text, object_pairs_hook=_reject_duplicates, parse_float=_reject_number,
                         parse_int=_parse_int, parse_constant=_reject_number)
    except UnicodeDecodeError:
        _fail("the message is not valid UTF-8")
    except (ValueError, RecursionError) as exc:
        if isinstance(exc, MessageError):
            raise
        _fail("the message is not valid JSON")
    if not isinstance(obj, dict):
        _fail("the message must be a JSON object")
    version = obj.get("v")
    if isinstance(version, bool) or version != FORMAT_VERSION:
        _fail("unsupported message version (this software reads version 1)")
    kind = obj.get("type")
    if not isinstance(kind, str) or kind not in _FIELDS:
        _fail("unknown message type; expected 'report', 'followup' or 'reply'")
    _expect_keys(obj, _FIELDS[kind], "message", allow_pad=True)
    pad = obj.get("pad", "")
    if not isinstance(pad, str) or pad.strip(" "):
        _fail("pad must be a string of spaces")
    if kind == "report":
        reply_key = _check_str(obj["reply_key"], "reply_key")
        try:
            parsed_key = ReplyPublicKey.parse(reply_key)
        except KeyFormatError as exc:
            _fail(f"reply_key is not a valid reply key: {exc}")
        return Report(category=obj["category"], urgency=obj["urgency"], text=obj["text"],
                      reply_key=parsed_key, lang=obj["lang"],
                      attachments=_attachments_from_json(obj["attachments"]))
    if kind == "followup":
        return FollowUp(text=obj["text"], attachments=_attachments_from_json(obj["attachments"]))
    return Reply(text=obj["text"], responder=obj["responder"])
