"""Message vectors (FORMAT.md §5): every MessageError rule, and messages that decode."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator

from envelope_vectors import ALICE, REPLY, Case

from keys.encoding import encode_key_string


def message(name: str, obj: object, expect: str, comment: str, raw: bytes | None = None) -> Case:
    data = raw if raw is not None else json.dumps(obj, ensure_ascii=False,
                                                  separators=(",", ":")).encode()
    headers = [("expect", expect)]
    if expect == "success":
        assert isinstance(obj, dict)
        decoded = {k: v for k, v in obj.items() if k != "pad"}
        text = decoded["text"]
        if len(text) > 1000:  # keep the file small: the text's hash stands in for it
            decoded["text"] = None
            headers.append(("text-sha256", hashlib.sha256(text.encode()).hexdigest()))
        headers.append(("decoded", json.dumps(decoded, sort_keys=True, separators=(",", ":"))))
    return (name, [*headers, ("comment", comment)], data)


def report(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "v": 1, "type": "report", "category": "harassment", "urgency": "normal",
        "text": "They posted my home address.", "reply_key": str(REPLY.public), "lang": None,
        "attachments": []}
    base.update(changes)
    return {k: v for k, v in base.items() if v is not DROP}


DROP = object()
ATTACHMENT_SHA256 = hashlib.sha256(b"attachment envelope").hexdigest()
ATTACHMENT: dict[str, object] = {"name": "screenshot.png", "size": 48213, "media_type": "image/png",
              "envelope_sha256": ATTACHMENT_SHA256}


def attachment(**changes: object) -> dict[str, object]:
    base = dict(ATTACHMENT)
    base.update(changes)
    return {k: v for k, v in base.items() if v is not DROP}


def message_cases() -> Iterator[Case]:
    yield from message_success_cases()
    yield from message_failure_cases()


def message_success_cases() -> Iterator[Case]:
    yield message("report_minimal", report(), "success", "a report without pad")
    padded = report(urgency="emergency", lang="pt-BR", attachments=[ATTACHMENT],
                    text="Ameaça de morte \u2014 \U0001F6A8\nsegunda linha")
    size = len(json.dumps({**padded, "pad": ""}, ensure_ascii=False,
                          separators=(",", ":")).encode())
    yield message("report_padded", {**padded, "pad": " " * (-size % 512)}, "success",
                  "emergency report with lang, one attachment, padded to 512 bytes")
    yield message("report_odd_pad", report(pad=" " * 7), "success",
                  "decoders accept a pad of any length")
    yield message("followup", {"v": 1, "type": "followup", "text": "More details.",
                               "attachments": [ATTACHMENT, attachment(name="notes.txt",
                                                                      size=0,
                                                                      media_type="text/plain")]},
                  "success", "a follow-up with two attachments")
    yield message("reply", {"v": 1, "type": "reply", "text": "We read your report.",
                            "responder": "Safety team"}, "success", "a reply")
    obj = {"v": 1, "type": "reply", "text": "a\u00e9", "responder": "R"}
    yield message("whitespace_and_escapes", obj, "success", "JSON whitespace and \\u escapes",
                  raw=b' \n{ "type" : "reply" ,\t"v":1, "text":"a\\u00e9", "responder":"R" }\r\n')
    yield message("text_1mib", report(text="\u20ac" * 349525 + "a"), "success",
                  "text of exactly 1,048,576 UTF-8 bytes")
    yield message("category_custom", report(category="self_harm-2"), "success",
                  "categories are any ^[a-z0-9_-]{1,32}$")
    yield message("attachment_size_minus_zero", report(attachments=[attachment(size=0)]),
                  "success", "size written -0: an integer without fraction, the value 0",
                  raw=json.dumps(report(attachments=[ATTACHMENT]), separators=(",", ":"))
                  .encode().replace(b'"size":48213', b'"size":-0'))
    yield message("text_nul_escape", report(text="a\u0000b"), "success",
                  "text may hold any character, U+0000 included (escaped)")


def message_failure_cases() -> Iterator[Case]:
    fail = "message failure"
    base = json.dumps(report(), separators=(",", ":")).encode()
    yield message("version_2", report(v=2), fail, "unknown version")
    yield message("version_string", report(v="1"), fail, "version as a string")
    yield message("version_float", None, fail, "version 1.0",
                  raw=base.replace(b'"v":1', b'"v":1.0'))
    yield message("version_true", report(v=True), fail, "version true")
    yield message("version_missing", report(v=DROP), fail, "no v")
    yield message("type_unknown", report(type="note"), fail, "unknown type")
    yield message("type_missing", report(type=DROP), fail, "no type")
    yield message("unknown_key", report(extra=1), fail, "unknown top-level key")
    yield message("missing_text", report(text=DROP), fail, "no text")
    yield message("missing_lang", report(lang=DROP), fail, "lang is required (may be null)")
    yield message("missing_attachments", report(attachments=DROP), fail, "no attachments")
    yield message("duplicate_key", None, fail, "text appears twice",
                  raw=base[:-1] + b',"text":"again"}')
    yield message("duplicate_key_nested", None, fail, "a key twice inside an attachment",
                  raw=json.dumps(report(attachments=[ATTACHMENT]),
                                 separators=(",", ":")).encode().replace(
                      b'"size":48213', b'"size":48213,"size":1'))
    yield message("duplicate_key_escaped", None, fail, "text, then t\\u0065xt (the same key)",
                  raw=base[:-1] + b',"t\\u0065xt":"again"}')
    yield message("raw_control_character", None, fail, "an unescaped newline inside a string",
                  raw=base.replace(b"home", b"ho\nme"))
    yield message("attachment_pad", report(attachments=[attachment(pad=" ")]), fail,
                  "pad is allowed at the top level only")
    yield message("invalid_utf8", None, fail, "a byte 0xFF in text",
                  raw=base.replace(b"home", b"h\xffme"))
    yield message("utf8_bom", None, fail, "a UTF-8 byte-order mark first",
                  raw=b"\xef\xbb\xbf" + base)
    yield message("lone_surrogate", None, fail, "an escaped unpaired surrogate in text",
                  raw=base.replace(b"home", b"\\ud800home"))
    yield message("top_level_array", None, fail, "not an object", raw=b"[" + base + b"]")
    yield message("trailing_garbage", None, fail, "bytes after the object", raw=base + b"x")
    yield message("empty_input", None, fail, "zero bytes", raw=b"")
    yield message("text_over_1mib", report(text="\u20ac" * 349526), fail,
                  "text of 1,048,578 UTF-8 bytes (349,526 characters)")
    yield message("text_null", report(text=None), fail, "text null")
    yield message("category_uppercase", report(category="Harassment"), fail, "uppercase")
    yield message("category_too_long", report(category="a" * 33), fail, "33 characters")
    yield message("category_empty", report(category=""), fail, "empty category")
    yield message("category_number", report(category=5), fail, "category not a string")
    yield message("urgency_unknown", report(urgency="high"), fail, "urgency not in the set")
    yield message("lang_invalid", report(lang="english language"), fail, "not a language tag")
    reply_text = str(REPLY.public)
    yield message("reply_key_bad_checksum", report(reply_key=reply_text[:20] + (
        "a" if reply_text[20] != "a" else "b") + reply_text[21:]), fail, "reply_key checksum wrong")
    yield message("reply_key_pub", report(reply_key=str(ALICE.public)), fail,
                  "a drop-pub key where a drop-reply key belongs")
    yield message("reply_key_low_order", report(
        reply_key=encode_key_string("drop-reply-", bytes(32))), fail, "small-order reply key")
    yield message("attachments_object", report(attachments=ATTACHMENT), fail, "not an array")
    yield message("attachment_unknown_key", report(attachments=[attachment(path="/x")]), fail,
                  "unknown key in an attachment")
    yield message("attachment_missing_key", report(attachments=[attachment(size=DROP)]), fail,
                  "attachment without size")
    yield message("attachment_size_negative", report(attachments=[attachment(size=-1)]), fail,
                  "negative size")
    yield message("attachment_size_2_53", report(attachments=[attachment(size=2**53)]), fail,
                  "size 2^53, above the largest exact integer")
    yield message("attachment_size_string", report(attachments=[attachment(size="5")]), fail,
                  "size as a string")
    yield message("attachment_size_exponent", None, fail, "size written 1e3",
                  raw=json.dumps(report(attachments=[ATTACHMENT]), separators=(",", ":"))
                  .encode().replace(b'"size":48213', b'"size":1e3'))
    yield message("attachment_name_path", report(attachments=[attachment(name="../x.png")]),
                  fail, "a name with '/'")
    yield message("attachment_name_backslash", report(attachments=[attachment(name="a\\b")]),
                  fail, "a name with a backslash")
    yield message("attachment_name_dotdot", report(attachments=[attachment(name="..")]), fail,
                  "the name '..'")
    yield message("attachment_name_empty", report(attachments=[attachment(name="")]), fail,
                  "empty name")
    yield message("attachment_name_control", report(attachments=[attachment(name="a\nb")]),
                  fail, "a control character in the name")
    yield message("attachment_media_type", report(attachments=[attachment(media_type="png")]),
                  fail, "media type without a slash")
    yield message("attachment_sha_uppercase", report(attachments=[attachment(
        envelope_sha256=ATTACHMENT_SHA256.upper())]), fail, "uppercase hex")
    yield message("attachments_101", {"v": 1, "type": "followup", "text": "",
                                      "attachments": [ATTACHMENT] * 101}, fail,
                  "more than 100 attachments")
    yield message("responder_empty", {"v": 1, "type": "reply", "text": "x", "responder": ""},
                  fail, "empty responder name")
    yield message("responder_too_long", {"v": 1, "type": "reply", "text": "x",
                                         "responder": "r" * 65}, fail, "65 characters")
    yield message("reply_with_attachments", {"v": 1, "type": "reply", "text": "x",
                                             "responder": "R", "attachments": []}, fail,
                  "replies have no attachments key")
    yield message("pad_not_spaces", report(pad="  x"), fail, "pad with a letter")
    yield message("pad_tab", report(pad="\t"), fail, "pad with a tab")
    yield message("pad_number", report(pad=5), fail, "pad not a string")
    yield message("nan", None, fail, "NaN is not JSON", raw=base.replace(b'"v":1', b'"v":NaN'))
    yield message("version_leading_zero", None, fail, "version written 01 (not JSON)",
                  raw=base.replace(b'"v":1', b'"v":01'))
    yield message("version_minus_zero", None, fail, "version -0, the integer 0",
                  raw=base.replace(b'"v":1', b'"v":-0'))
    yield message("integer_17_digits", None, fail, "version 10000000000000001 (2^53 + ...)",
                  raw=base.replace(b'"v":1', b'"v":10000000000000001'))
    yield message("proto_key", None, fail, "an unknown key named __proto__",
                  raw=base[:-1] + b',"__proto__":{}}')
    yield message("infinity", None, fail, "-Infinity is not JSON",
                  raw=base.replace(b'"lang":null', b'"lang":-Infinity'))
    yield message("deep_nesting", None, fail, "lang as 100 nested arrays",
                  raw=base.replace(b'"lang":null', b'"lang":' + b"[" * 100 + b"]" * 100))
