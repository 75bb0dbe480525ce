"""The reporter forms' choices, limits and validation (shared by both submit paths).

The upload forms are parsed by our streaming reader, not WTForms, so their
rules live here as plain functions; each returns field errors keyed by field
name so templates can tie messages to inputs with aria-describedby.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

URGENCIES = ("normal", "urgent", "emergency")
# Languages a reporter may ask to be answered in, named in themselves.
REPLY_LANGUAGES: tuple[tuple[str, str], ...] = (
    ("en", "English"),
    ("ar", "العربية"),
    ("de", "Deutsch"),
    ("es", "Español"),
    ("fa", "فارسی"),
    ("fr", "Français"),
    ("hi", "हिन्दी"),
    ("id", "Bahasa Indonesia"),
    ("it", "Italiano"),
    ("ja", "日本語"),
    ("pt", "Português"),
    ("ru", "Русский"),
    ("sw", "Kiswahili"),
    ("tr", "Türkçe"),
    ("uk", "Українська"),
    ("zh", "中文"),
)
# Byte limits of the small fields an upload form may carry (the text field has its own).
FIELD_LIMITS: dict[str, int] = dict(
    (
        ("csrf_token", 256),
        ("mode", 16),
        ("website", 256),
        ("category", 64),
        ("urgency", 16),
        ("lang", 16),
        ("emergency", 4),
        ("reply_key", 128),
        ("login_secret", 128),
    )
)
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def category_labels() -> dict[str, str]:
    """Labels for the built-in category slugs; unknown (configured) slugs show as-is."""
    return {
        "harassment": str(_l("Harassment")),
        "doxing": str(_l("Doxing (your private information published)")),
        "threats": str(_l("Threats of violence")),
        "legal-pressure": str(_l("Legal or government pressure")),
        "self-harm": str(_l("Risk of self-harm")),
        "other": str(_l("Something else")),
    }


def urgency_labels() -> dict[str, str]:
    return {
        "normal": str(_l("Normal")),
        "urgent": str(_l("Urgent: I need help within days")),
        "emergency": str(_l("Emergency: a life is in danger")),
    }


def clean_filename(raw: str | None) -> str:
    """A safe display name for an attachment: last path element, no control chars, ≤ 255."""
    name = (raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = unicodedata.normalize("NFC", _CONTROL.sub("", name)).strip()
    if name in ("", ".", ".."):
        return "attachment"
    return name[:255]


@dataclass
class SubmitFields:
    """The small text fields of a JS-off report, validated."""

    category: str = ""
    urgency: str = "normal"
    text: str = ""
    lang: str | None = None
    errors: dict[str, str] = field(default_factory=dict)


def validate_report(
    raw: dict[str, str], categories: Sequence[str], max_text_chars: int
) -> SubmitFields:
    """Check category, urgency, text and reply language; errors keyed by field name."""
    fields = SubmitFields()
    fields.category = raw.get("category", "")
    if fields.category not in categories:
        fields.errors["category"] = str(_l("Please choose what happened."))
    fields.urgency = raw.get("urgency", "normal") or "normal"
    if fields.urgency not in URGENCIES:
        fields.errors["urgency"] = str(_l("Please choose how urgent this is."))
    fields.text = raw.get("text", "").replace("\r\n", "\n")
    if not fields.text.strip():
        fields.errors["text"] = str(_l("Please describe what happened."))
    elif len(fields.text) > max_text_chars:
        fields.errors["text"] = ngettext(
            "Your description is too long (at most %(num)d character).",
            "Your description is too long (at most %(num)d characters).",
            max_text_chars,
        )
    lang = raw.get("lang", "")
    if lang and lang not in dict(REPLY_LANGUAGES):
        fields.errors["lang"] = str(_l("Please choose a language from the list."))
    fields.lang = lang or None
    return fields


def validate_followup(raw: dict[str, str], max_text_chars: int) -> tuple[str, dict[str, str]]:
    """The follow-up text and its field errors."""
    text = raw.get("text", "").replace("\r\n", "\n")
    errors: dict[str, str] = {}
    if not text.strip():
        errors["text"] = str(_l("Please write your message."))
    elif len(text) > max_text_chars:
        errors["text"] = ngettext(
            "Your message is too long (at most %(num)d character).",
            "Your message is too long (at most %(num)d characters).",
            max_text_chars,
        )
    return text, errors
