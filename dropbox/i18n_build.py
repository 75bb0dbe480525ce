"""Translation catalogs: extract, init, update and compile (`python -m dropbox.i18n_build`).

- `extract`: collect every marked string into dropbox/translations/messages.pot
- `init LOCALE`: start a catalog for a new language
- `update`: merge a fresh template into every catalog
- `compile` (the default, run by `make build`): turn each messages.po into messages.mo

Catalogs live in dropbox/translations/<locale>/LC_MESSAGES/messages.po; the
app offers English plus every locale that has one (see dropbox.i18n).
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.frontend import CommandLineInterface

PACKAGE_DIR = Path(__file__).parent
ROOT = PACKAGE_DIR.parent
TRANSLATIONS = PACKAGE_DIR / "translations"
TEMPLATE = TRANSLATIONS / "messages.pot"
CONFIG = PACKAGE_DIR / "babel.cfg"
KEYWORDS = ["-k", "_l", "-k", "lazy_gettext", "-k", "ngettext:1,2"]


def _pybabel(*args: str) -> None:
    CommandLineInterface().run(["pybabel", "-q", *args])  # type: ignore[no-untyped-call,unused-ignore]


def extract() -> None:
    _pybabel(
        "extract", "-F", str(CONFIG), *KEYWORDS, "--no-location", "--sort-output",
        "--project", "drop", "-o", str(TEMPLATE), str(ROOT / "dropbox"),
    )


def init(locale: str) -> None:
    _pybabel("init", "-i", str(TEMPLATE), "-d", str(TRANSLATIONS), "-l", locale)


def update() -> None:
    _pybabel("update", "-i", str(TEMPLATE), "-d", str(TRANSLATIONS), "--no-fuzzy-matching")


def compile_catalogs() -> int:
    """Compile every catalog; returns how many there were."""
    catalogs = sorted(TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"))
    if catalogs:
        _pybabel("compile", "-d", str(TRANSLATIONS), "--statistics")
    return len(catalogs)


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "compile"
    if command == "extract":
        extract()
    elif command == "init" and len(argv) == 2:
        init(argv[1])
    elif command == "update":
        update()
    elif command == "compile":
        compile_catalogs()
    else:
        print("usage: python -m dropbox.i18n_build [extract | init LOCALE | update | compile]",
              file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
