"""DROPBOX_CATEGORIES must obey FORMAT.md §5.2's category rule, checked at startup (review #8)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dropbox.config import DEFAULT_CATEGORIES, Config, ConfigError
from keys import ReplyKeyPair, Report


@pytest.mark.parametrize("raw", ["Legal Pressure,other", "other," + "x" * 33, "émeute",
                                 "a/b", "other,,other"])
def test_a_category_outside_the_format_rule_refuses_to_start(tmp_path: Path, raw: str) -> None:
    with pytest.raises(ConfigError, match="DROPBOX_CATEGORIES"):
        Config.for_instance(tmp_path, {"DROPBOX_CATEGORIES": raw})


def test_valid_categories_are_kept_in_order(tmp_path: Path) -> None:
    config = Config.for_instance(tmp_path, {"DROPBOX_CATEGORIES": " court_case , other-1 "})
    assert config.categories == ("court_case", "other-1")


@pytest.mark.parametrize("category", DEFAULT_CATEGORIES)
def test_every_default_category_makes_a_valid_report(category: str) -> None:
    report = Report(category=category, urgency="normal", text="t",
                    reply_key=ReplyKeyPair.generate().public, lang=None, attachments=())
    assert report.category == category


def test_format_lists_the_shipped_defaults() -> None:
    format_md = (Path(__file__).parents[2] / "docs" / "FORMAT.md").read_text(encoding="utf-8")
    listed = ", ".join(f"`{c}`" for c in DEFAULT_CATEGORIES)
    assert listed in format_md
