"""Interface language: Flask-Babel set-up, locale choice and text direction.

The language is chosen, in order, by the `?lang=` parameter of the language
selector (a plain GET form, remembered in the session), then the browser's
Accept-Language, then English. Available languages are English plus every
catalog under `dropbox/translations/`.
"""

from __future__ import annotations

from pathlib import Path

from babel import Locale, UnknownLocaleError
from flask import Flask, current_app, request, session
from flask_babel import Babel, get_locale
from werkzeug.datastructures import LanguageAccept

TRANSLATIONS_DIR = Path(__file__).parent / "translations"
DEFAULT_LOCALE = "en"


def available_locales() -> list[str]:
    """English plus every locale that has a catalog, sorted, 'en' first."""
    found = set()
    if TRANSLATIONS_DIR.is_dir():
        for entry in TRANSLATIONS_DIR.iterdir():
            messages = entry / "LC_MESSAGES"
            if (messages / "messages.mo").is_file() or (messages / "messages.po").is_file():
                found.add(entry.name)
    found.discard(DEFAULT_LOCALE)
    return [DEFAULT_LOCALE, *sorted(found)]


def language_name(code: str) -> str:
    """The language's name in itself ("Deutsch", "العربية"), or the code if unknown."""
    try:
        name = Locale.parse(code).get_display_name(code)
    except (UnknownLocaleError, ValueError):
        return code
    return name[:1].upper() + name[1:] if name else code


def text_direction(code: str) -> str:
    """'rtl' for right-to-left scripts (Arabic, Persian, Hebrew, Urdu...), else 'ltr'."""
    try:
        return "rtl" if Locale.parse(code).character_order == "right-to-left" else "ltr"
    except (UnknownLocaleError, ValueError):
        return "ltr"


def _select_locale() -> str:
    locales: list[str] = current_app.config["DROP_LOCALES"]
    chosen = request.args.get("lang", "")
    if chosen in locales:
        if session.get("lang") != chosen:
            session["lang"] = chosen
        return chosen
    remembered = session.get("lang")
    if isinstance(remembered, str) and remembered in locales:
        return remembered
    return _best_accepted(locales)


def _best_accepted(locales: list[str]) -> str:
    # Werkzeug's best_match prefers any exact match, even a low-ranked "en", over
    # the regional tag the reader ranked first ("ar-EG,en;q=0.5" gave English),
    # so try the reader's languages one at a time, in their order.
    for value, quality in request.accept_languages:
        match = LanguageAccept([(value, 1)]).best_match(locales) if quality > 0 else None
        if match:
            return match
    return DEFAULT_LOCALE


def current_locale_code() -> str:
    locale = get_locale()
    return str(locale) if locale is not None else DEFAULT_LOCALE


def install_i18n(app: Flask) -> None:
    """Attach Flask-Babel to `app` and expose the language helpers to templates."""
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LOCALE)
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(TRANSLATIONS_DIR)
    locales = available_locales()
    app.config["DROP_LOCALES"] = locales
    Babel(app, locale_selector=_select_locale)

    @app.context_processor
    def language_context() -> dict[str, object]:
        code = current_locale_code()
        return {
            "page_lang": code.replace("_", "-"),
            "page_dir": text_direction(code),
            "ui_languages": [(c, language_name(c)) for c in locales],
            "ui_language": code,
        }
