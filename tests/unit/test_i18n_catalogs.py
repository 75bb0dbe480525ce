"""The shipped interface catalogs: complete, placeholder-exact, compilable and served.

Messages are extracted from the current source at test time (Babel's extraction
API, dropbox/babel.cfg and the keywords `dropbox.i18n_build` uses), so a newly
marked string that nobody translated fails here, in every language. The
catalogs are compiled from the .po files into a temporary directory, so the
pages are checked against what is in the tree, not against a stale build.
"""

from __future__ import annotations

import gettext
import html
import io
import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_keywords, parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po
from flask import Flask
from markupsafe import escape

import dropbox.i18n
from dropbox import i18n_build
from tests.unit.conftest import make_reporter_env

LOCALES = ("es", "fr", "ar", "fa", "ru", "pt", "zh_Hans")
RIGHT_TO_LEFT = {"ar", "fa"}
MessageId = str | tuple[str, str]
# Any %-sequence: Jinja's newstyle gettext %-formats every template string, so a
# stray "%" in a translation breaks the page even where the English has none.
_PERCENT = re.compile(
    r"%(?:\((\w*)\))?[-#0 +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?[diouxXeEfFgGcrs%]"
)
# The browser's messages fill "{name}" placeholders (js/src/app/messages.js).
_BRACES = re.compile(r"\{\w*\}")
JS_MESSAGES = Path(__file__).parents[2] / "js" / "src" / "app" / "messages.js"

# What a reader of each language must see; written here, independently of the
# catalogs, so a catalog that silently stops loading fails.
INTRO_PHRASES = {
    "es": "No es un servicio de emergencias: nadie lee los informes en tiempo real.",
    "fr": "personne ne lit les signalements en temps réel.",
    "ar": "ليست خدمة طوارئ: لا أحد يقرأ البلاغات في الوقت الفعلي.",
    "fa": "این یک خدمت اضطراری نیست",
    "ru": "Это не экстренная служба: никто не читает обращения в режиме реального времени.",
    "pt": "Não é um serviço de emergência: ninguém lê os relatos em tempo real.",
    "zh_Hans": "没有人会实时阅读报告。",
}
SUBMIT_PHRASES = {
    "es": "Enviar informe",
    "fr": "Envoyer le signalement",
    "ar": "إرسال البلاغ",
    "fa": "فرستادن گزارش",
    "ru": "Отправить обращение",
    "pt": "Enviar relato",
    "zh_Hans": "发送报告",
}
# How browsers in each language usually ask, English as a lower-ranked fallback.
ACCEPT_LANGUAGE = {
    "es": "es-MX,es;q=0.9,en;q=0.5",
    "fr": "fr-FR,fr;q=0.8,en-US;q=0.5,en;q=0.3",
    "ar": "ar-EG,en;q=0.5",
    "fa": "fa-IR,fa;q=0.9,en-US;q=0.6",
    "ru": "ru-RU,ru;q=0.9,en;q=0.5",
    "pt": "pt-BR,pt;q=0.9,en;q=0.5",
    "zh_Hans": "zh-CN,zh;q=0.9,en;q=0.5",
}


@dataclass(frozen=True)
class Extracted:
    """Every message the source marks, and the files it came from."""

    ids: dict[str, MessageId]
    files: set[str]


def _key(message_id: MessageId) -> str:
    return message_id if isinstance(message_id, str) else message_id[0]


@pytest.fixture(scope="module")
def extracted() -> Extracted:
    with open(i18n_build.CONFIG, encoding="utf-8") as config:
        method_map, options_map = parse_mapping_cfg(config)  # type: ignore[no-untyped-call]
    extra = [arg for arg in i18n_build.KEYWORDS if not arg.startswith("-")]
    keywords = {**DEFAULT_KEYWORDS, **parse_keywords(extra)}
    ids: dict[str, MessageId] = {}
    files: set[str] = set()
    for filename, _line, message, _comments, _context in extract_from_dir(
        str(i18n_build.PACKAGE_DIR), method_map, options_map, keywords=keywords
    ):
        message_id: MessageId = message if isinstance(message, str) else (message[0], message[1])
        if _key(message_id):
            ids[_key(message_id)] = message_id
            files.add(filename.replace("\\", "/"))
    return Extracted(ids, files)


def _catalog(locale: str) -> Catalog:
    path = i18n_build.TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"
    with open(path, "rb") as handle:
        return read_po(handle, locale=locale)


def test_extraction_sees_every_module_that_marks_strings(extracted: Extracted) -> None:
    # Guards the keyword list: if `_l(...)` stopped being extracted, the
    # completeness test below would pass on an empty set of lazy strings.
    marking = re.compile(r"\b(?:_|_l|gettext|lazy_gettext|ngettext)\(\s*[\"']")
    for path in i18n_build.PACKAGE_DIR.rglob("*"):
        if path.suffix not in (".py", ".html") or "__pycache__" in path.parts:
            continue
        if marking.search(path.read_text(encoding="utf-8")):
            relative = path.relative_to(i18n_build.PACKAGE_DIR).as_posix()
            assert relative in extracted.files, f"{relative} marks strings but none were extracted"
    assert len(extracted.ids) > 50


@pytest.mark.parametrize("locale", LOCALES)
def test_catalog_translates_every_marked_string(locale: str, extracted: Extracted) -> None:
    catalog = _catalog(locale)
    assert not catalog.fuzzy, f"{locale}: the catalog header is marked fuzzy"
    assert catalog.num_plurals == get_plural(locale).num_plurals
    problems = []
    for key, message_id in sorted(extracted.ids.items()):
        message = catalog.get(message_id if isinstance(message_id, str) else message_id[0])
        if message is None:
            problems.append(f"missing: {key!r}")
            continue
        if message.fuzzy:
            problems.append(f"fuzzy: {key!r}")
        if isinstance(message_id, tuple):
            forms = message.string if isinstance(message.string, tuple) else (message.string,)
            if message.id != message_id:
                problems.append(f"plural source changed: {key!r}")
            if len(forms) != catalog.num_plurals or not all(forms):
                problems.append(f"plural forms incomplete ({len(forms)}): {key!r}")
        elif not message.string or isinstance(message.string, tuple):
            problems.append(f"untranslated: {key!r}")
    assert not problems, f"{locale}: run `make i18n` and translate:\n" + "\n".join(problems)


def test_plural_form_counts_follow_each_language() -> None:
    expected = {"es": 2, "fr": 2, "pt": 2, "ru": 3, "ar": 6, "fa": 1, "zh_Hans": 1}
    assert {locale: _catalog(locale).num_plurals for locale in LOCALES} == expected


def _placeholders(text: str) -> list[str]:
    return sorted(match.group(0) for match in (*_PERCENT.finditer(text), *_BRACES.finditer(text)))


def _translations(message: Message) -> list[tuple[str, str]]:
    """(source, translation) pairs: each plural form against the English it renders."""
    if isinstance(message.id, str):
        assert isinstance(message.string, str)
        return [(message.id, message.string)]
    singular, plural = message.id[0], message.id[1]
    forms = [str(form) for form in message.string] if isinstance(message.string, tuple) else [
        str(message.string)
    ]
    # The one-form languages (fa, zh) render every count with form 0.
    return [(plural if len(forms) == 1 or index > 0 else singular, form)
            for index, form in enumerate(forms)]


@pytest.mark.parametrize("locale", LOCALES)
def test_translations_keep_exactly_the_placeholders(locale: str) -> None:
    catalog = _catalog(locale)
    problems = [f"{message.id!r}: {error}" for message, errors in catalog.check()
                for error in errors]
    for message in catalog:
        if not message.id or not message.string:
            continue
        for source, translation in _translations(message):
            if _placeholders(source) != _placeholders(translation):
                problems.append(f"{source!r} -> {translation!r}")
            if "%" in _PERCENT.sub("", translation):
                problems.append(f"stray '%' in {translation!r}")
    assert not problems, f"{locale}:\n" + "\n".join(problems)


@pytest.mark.parametrize("locale", LOCALES)
def test_catalog_compiles_and_plurals_format_for_any_count(locale: str) -> None:
    catalog = _catalog(locale)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    translations = gettext.GNUTranslations(compiled)
    assert translations.gettext("Report an incident") == catalog["Report an incident"].string
    for message in catalog:
        if not isinstance(message.id, tuple):
            continue
        names = {match.group(1) for match in _PERCENT.finditer(message.id[1])} - {None}
        for count in (0, 1, 2, 3, 5, 11, 21, 101, 1000):
            text = translations.ngettext(message.id[0], message.id[1], count)
            assert text not in message.id, f"{locale}: English shown for n={count}"
            assert str(count) in text % {name: count for name in names}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """A reporter app serving catalogs compiled now from the .po files in the tree."""
    root = tmp_path_factory.mktemp("i18n")
    compiled = root / "translations"
    for locale in LOCALES:
        target = compiled / locale / "LC_MESSAGES"
        target.mkdir(parents=True)
        shutil.copy(i18n_build.TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po", target)
        with open(target / "messages.mo", "wb") as handle:
            write_mo(handle, _catalog(locale))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(dropbox.i18n, "TRANSLATIONS_DIR", compiled)
        env = make_reporter_env(root)
        yield env.app
        env.services.database.engine.dispose()


def _html_open_tag(locale: str) -> str:
    direction = "rtl" if locale in RIGHT_TO_LEFT else "ltr"
    return f'<html lang="{locale.replace("_", "-")}" dir="{direction}">'


def test_every_catalog_is_offered_in_the_selector(app: Flask) -> None:
    page = app.test_client().get("/").get_data(as_text=True)
    assert _html_open_tag("en") in page
    selector = re.search(r'<form class="language-form" method="get"[^>]*>(.*?)</form>', page, re.S)
    assert selector, "no JavaScript-free language form"
    assert 'name="lang"' in selector.group(1)
    offered = re.findall(r'<option value="([^"]+)"', selector.group(1))
    assert sorted(offered) == sorted(["en", *LOCALES])
    # Each option is labelled with a valid BCP 47 tag so screen readers switch voice.
    assert '<option value="zh_Hans" lang="zh-Hans">' in selector.group(1)


@pytest.mark.parametrize("locale", LOCALES)
def test_selector_renders_intro_and_submit_in_the_language(app: Flask, locale: str) -> None:
    client = app.test_client()
    intro = client.get(f"/?lang={locale}").get_data(as_text=True)
    assert _html_open_tag(locale) in intro
    assert str(escape(INTRO_PHRASES[locale])) in intro
    assert "nobody reads reports in real time" not in intro
    # The choice is remembered for the next page, still without JavaScript.
    submit = client.get("/submit").get_data(as_text=True)
    assert _html_open_tag(locale) in submit
    assert str(escape(SUBMIT_PHRASES[locale])) in submit
    assert f'<option value="{locale}"' in submit and "Send report" not in submit


@pytest.mark.parametrize("locale", LOCALES)
def test_accept_language_picks_the_readers_language(app: Flask, locale: str) -> None:
    client = app.test_client()
    headers = {"Accept-Language": ACCEPT_LANGUAGE[locale]}
    page = client.get("/submit", headers=headers).get_data(as_text=True)
    assert _html_open_tag(locale) in page
    assert str(escape(SUBMIT_PHRASES[locale])) in page
    # An explicit choice beats the browser's header.
    page = client.get("/submit?lang=en", headers=headers).get_data(as_text=True)
    assert _html_open_tag("en") in page and "Send report" in page


def test_unsupported_accept_language_falls_back_to_english(app: Flask) -> None:
    page = app.test_client().get("/", headers={"Accept-Language": "de-DE,de;q=0.9"})
    assert _html_open_tag("en") in page.get_data(as_text=True)


@pytest.mark.parametrize("locale", LOCALES)
def test_browser_messages_are_served_translated(app: Flask, locale: str) -> None:
    # The keys the JavaScript looks up, from its English fallback table.
    source = JS_MESSAGES.read_text(encoding="utf-8")
    fallback = source[source.index("const FALLBACK = {"):source.index("};")]
    keys = set(re.findall(r"^\s+(\w+): '", fallback, re.M))
    english = dict(re.findall(r"^\s+(\w+): '((?:[^'\\]|\\.)*)'", fallback, re.M))
    assert len(keys) > 10
    page = app.test_client().get(f"/submit?lang={locale}").get_data(as_text=True)
    block = re.search(r'<div id="drop-messages" hidden>(.*?)</div>', page, re.S)
    assert block, "no translated messages for the browser"
    served = json.loads(html.unescape(block.group(1)))
    assert set(served) == keys
    for key, text in served.items():
        assert text != english[key].replace("\\'", "'"), f"{locale}: {key} is in English"
        assert sorted(_BRACES.findall(text)) == sorted(_BRACES.findall(english[key])), key
        assert "%%" not in text
