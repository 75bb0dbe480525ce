"""Translations: a real compiled catalog is picked up, RTL pages get dir="rtl", and
every string the templates show is in the extracted template."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

import dropbox.i18n
from dropbox import i18n_build
from tests.unit.conftest import make_reporter_env


def _catalog(directory: Path, locale: str, translations: dict[str, str]) -> None:
    messages = directory / locale / "LC_MESSAGES"
    messages.mkdir(parents=True)
    catalog = Catalog(locale=locale)
    for source, target in translations.items():
        catalog.add(source, target)
    with open(messages / "messages.po", "wb") as po:
        write_po(po, catalog)
    with open(messages / "messages.mo", "wb") as mo:
        write_mo(mo, catalog)


def test_compiled_catalog_translates_and_sets_direction(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    translations = tmp_path / "translations"
    _catalog(translations, "ar", {"Report an incident": "الإبلاغ عن حادث"})
    _catalog(translations, "de", {"Report an incident": "Einen Vorfall melden"})
    monkeypatch.setattr(dropbox.i18n, "TRANSLATIONS_DIR", translations)
    assert dropbox.i18n.available_locales() == ["en", "ar", "de"]
    env = make_reporter_env(tmp_path)
    client = env.client()
    page = client.get("/submit", headers={"Accept-Language": "ar"}).get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in page
    assert "الإبلاغ عن حادث" in page
    page = client.get("/submit?lang=de").get_data(as_text=True)
    assert '<html lang="de" dir="ltr">' in page and "Einen Vorfall melden" in page
    assert "Deutsch" in page and "العربية" in page  # languages named in themselves
    page = client.get("/submit?lang=xx").get_data(as_text=True)
    assert '<html lang="de"' in page  # unknown choice ignored, remembered one kept
    env.services.database.engine.dispose()


def test_every_template_string_is_in_the_extracted_template() -> None:
    with open(i18n_build.TEMPLATE, "rb") as handle:
        extracted = {message.id for message in read_po(handle) if message.id}
    flat = {m if isinstance(m, str) else m[0] for m in extracted}
    for template in (Path(dropbox.i18n.__file__).parent / "templates").glob("*.html"):
        for found in re.findall(r'_\("([^"]+)"', template.read_text(encoding="utf-8")):
            assert found in flat, f"{template.name}: {found!r} missing; run i18n_build extract"
