"""Per-deployment page content: crisis resources, safety advice, support contacts.

Each is a small JSON file in the instance dir (paths set by
DROPBOX_CRISIS_FILE, DROPBOX_SAFETY_FILE, DROPBOX_SUPPORT_FILE):

    {"title": "...", "sections": [{"heading": "...", "paragraphs": ["..."],
      "links": [{"label": "...", "url": "https://..."}]}]}

Text is plain: templates HTML-escape it, so no markup can be injected by a
mistyped file. Links must be http(s) or onion URLs. When a file is absent the
shipped defaults below are used (translated); a malformed file is refused
loudly at startup (`check_content_files`, called by create_app) rather than
silently showing nothing in an emergency. A file broken while the server runs
(an operator's half-saved edit) makes pages fall back to the defaults and logs
an error, so no report is ever lost to it (`content_or_default`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask_babel import lazy_gettext as _l

_MAX_FILE_BYTES = 256 * 1024
log = logging.getLogger("dropbox.reporter")


class ContentError(Exception):
    """A content file is not the expected JSON shape; the message says where."""


@dataclass(frozen=True)
class Link:
    label: str
    url: str


@dataclass(frozen=True)
class Section:
    heading: str
    paragraphs: tuple[str, ...]
    links: tuple[Link, ...] = ()


@dataclass(frozen=True)
class PageContent:
    title: str
    sections: tuple[Section, ...]


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ContentError(f"{where} must be a non-empty string")
    return value


def _link(value: Any, where: str) -> Link:
    if not isinstance(value, dict):
        raise ContentError(f"{where} must be an object with 'label' and 'url'")
    url = _text(value.get("url"), f"{where}.url")
    if not url.startswith(("https://", "http://", "tel:")):
        raise ContentError(f"{where}.url must start with https://, http:// or tel:")
    return Link(_text(value.get("label"), f"{where}.label"), url)


def parse_content(data: Any, where: str) -> PageContent:
    """Validate decoded JSON into PageContent; ContentError names the bad field."""
    if not isinstance(data, dict) or not isinstance(data.get("sections"), list):
        raise ContentError(f"{where} must be an object with 'title' and a 'sections' list")
    sections = []
    for index, raw in enumerate(data["sections"]):
        at = f"{where}: sections[{index}]"
        if not isinstance(raw, dict):
            raise ContentError(f"{at} must be an object")
        paragraphs = raw.get("paragraphs", [])
        links = raw.get("links", [])
        if not isinstance(paragraphs, list) or not isinstance(links, list):
            raise ContentError(f"{at}: 'paragraphs' and 'links' must be lists")
        sections.append(
            Section(
                heading=_text(raw.get("heading"), f"{at}.heading"),
                paragraphs=tuple(_text(p, f"{at}.paragraphs") for p in paragraphs),
                links=tuple(_link(link, f"{at}.links") for link in links),
            )
        )
    return PageContent(title=_text(data.get("title"), f"{where}.title"), sections=tuple(sections))


def load_content(path: Path | None) -> PageContent | None:
    """The deployment's content from `path`, or None if there is no such file."""
    if path is None or not path.is_file():
        return None
    raw = path.read_bytes()
    if len(raw) > _MAX_FILE_BYTES:
        raise ContentError(f"{path} is larger than {_MAX_FILE_BYTES} bytes")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ContentError(f"{path} is not valid UTF-8 JSON: {error}") from error
    return parse_content(data, str(path))


def check_content_files(paths: Iterable[Path | None]) -> None:
    """Parse every configured content file now; ContentError names the first bad one."""
    for path in paths:
        try:
            load_content(path)
        except OSError as error:
            raise ContentError(f"{path} cannot be read ({error.strerror})") from None


def content_or_default(path: Path | None, default: Callable[[], PageContent]) -> PageContent:
    """The content of `path`, or `default()` if it is absent or broke after startup.

    Never raises ContentError or OSError: these pages follow a report, and a
    typo in a file must not cost a reporter the answer to what they sent.
    """
    try:
        loaded = load_content(path)
    except (ContentError, OSError) as error:
        # The type only, as everywhere: the operator finds the file by running the checks.
        log.error("content file unusable (%s); showing the defaults", type(error).__name__)
        loaded = None
    return loaded if loaded is not None else default()


def default_crisis() -> PageContent:
    return PageContent(
        title=str(_l("If you are in danger right now")),
        sections=(
            Section(
                heading=str(_l("This drop is not an emergency service")),
                paragraphs=(
                    str(
                        _l(
                            "Nobody reads reports in real time. A reply can take hours or days. "
                            "If your life or someone else's is in danger, contact local "
                            "emergency services or someone you trust now."
                        )
                    ),
                    str(
                        _l(
                            "If you are thinking about ending your life, please reach out to a "
                            "crisis line in your country. You deserve support right now."
                        )
                    ),
                ),
                links=(
                    Link(
                        str(_l("Find a crisis line in your country (findahelpline.com)")),
                        "https://findahelpline.com/",
                    ),
                ),
            ),
        ),
    )


def default_safety() -> PageContent:
    return PageContent(
        title=str(_l("Staying safe while you report")),
        sections=(
            Section(
                heading=str(_l("Use Tor Browser on the Safest setting")),
                paragraphs=(
                    str(
                        _l(
                            "Open this site only in Tor Browser. Set its security level to "
                            "Safest (shield icon, then Settings). This drop works fully with "
                            "JavaScript turned off."
                        )
                    ),
                    str(
                        _l(
                            "If Tor is blocked or watched where you are, use a bridge "
                            "(Tor Browser: Settings, Connection, Bridges)."
                        )
                    ),
                ),
            ),
            Section(
                heading=str(_l("Choose your device and network with care")),
                paragraphs=(
                    str(
                        _l(
                            "Do not use a device or network that belongs to your employer or "
                            "that someone else controls or monitors."
                        )
                    ),
                ),
            ),
            Section(
                heading=str(_l("Files can reveal who you are")),
                paragraphs=(
                    str(
                        _l(
                            "Photos, documents and screenshots can contain hidden metadata: "
                            "location, device, author name. Remove it before uploading, for "
                            "example with mat2, or send a screenshot of the content instead."
                        )
                    ),
                ),
            ),
            Section(
                heading=str(_l("Keep your codename secret")),
                paragraphs=(
                    str(
                        _l(
                            "Your codename is the only way back to your replies. Keep it "
                            "somewhere only you can reach, never in a file on a shared device."
                        )
                    ),
                ),
            ),
        ),
    )


def default_support() -> PageContent:
    return PageContent(
        title=str(_l("Getting support")),
        sections=(
            Section(
                heading=str(_l("Who reads your report")),
                paragraphs=(
                    str(
                        _l(
                            "Reports are encrypted to the responders of this drop. Only they "
                            "can read them, on computers that are not connected to the internet."
                        )
                    ),
                ),
            ),
            Section(
                heading=str(_l("Other help")),
                paragraphs=(
                    str(
                        _l(
                            "If you need help right now, do not wait for a reply: contact "
                            "people you trust, local support organisations or emergency services."
                        )
                    ),
                ),
            ),
        ),
    )
