"""Turning attacker-chosen strings into something safe to print or to use as a file name.

Reports are written by anyone. Their text may carry terminal escape
sequences (which can rewrite the screen, set the window title or worse) and
their attachment names may try `../../.bashrc`, `CON`, `.hidden` or a name
that overwrites an existing file. Everything shown or saved goes through here.
"""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path

_WINDOWS_DEVICES = {"CON", "PRN", "AUX", "NUL", "CLOCK$", "CONIN$", "CONOUT$",
                    *(f"COM{i}" for i in range(10)), *(f"LPT{i}" for i in range(10)),
                    "COM¹", "COM²", "COM³", "LPT¹", "LPT²", "LPT³"}
_NAME_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]')
MAX_NAME_BYTES = 200
_PRINTABLE_ASCII = re.compile(r"[\x20-\x7e]*")


def escape_terminal(text: str, *, keep_newlines: bool = True) -> str:
    """`text` with every control and format character shown as a visible escape.

    Guarantees: the result contains no C0/C1 control (ESC, BEL, CSI...), no
    bidirectional override or other Unicode format character, and no
    surrogate; newlines and tabs survive when `keep_newlines` is true.
    """
    if _PRINTABLE_ASCII.fullmatch(text):
        return text  # the common case, and nothing in it needs escaping
    out: list[str] = []
    for char in text:
        if keep_newlines and char in "\n\t":
            out.append(char)
            continue
        category = unicodedata.category(char)
        if category in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
            code = ord(char)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(char)
    return "".join(out)


def looks_binary(data: bytes) -> bool:
    """True when `data` is not valid UTF-8 or is mostly control characters."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    if not text:
        return False
    controls = sum(1 for c in text if unicodedata.category(c) == "Cc" and c not in "\n\r\t")
    return controls * 10 > len(text)


def _trim(base: str) -> str:
    """Strip what must not start or end a name until nothing changes: one pass of
    strip() then lstrip("-") turns "-.profile" into ".profile"."""
    while True:
        trimmed = base.strip().lstrip(".-").rstrip(".").strip()
        if trimmed == base:
            return base
        base = trimmed


def safe_file_name(name: str, fallback: str) -> str:
    """A single path component derived from `name`, safe on Linux, macOS and Windows.

    Guarantees: no separator, no `..`, no leading dot or dash, no trailing dot
    or space, no control, format or reserved character, not a Windows device
    name, at most 200 UTF-8 bytes, never empty (`fallback` is used then).
    """
    # NFKC first, so fullwidth and other compatibility forms of "/", "\\" and
    # "." (U+FF0F, U+FF3C, U+FF0E...) are dealt with as the ASCII ones they
    # look like, and some Windows APIs turn them into.
    base = unicodedata.normalize("NFKC", name)
    base = base.replace("\\", "/").split("/")[-1]
    base = "".join("_" if unicodedata.category(c) in ("Cc", "Cf", "Cs", "Zl", "Zp") else c
                   for c in base)
    base = _trim(_NAME_UNSAFE.sub("_", base))
    stem = base.split(".")[0].upper().rstrip()
    if stem in _WINDOWS_DEVICES:
        base = "_" + base
    while len(base.encode("utf-8")) > MAX_NAME_BYTES:
        root, dot, ext = base.rpartition(".")
        if dot and 0 < len(ext) <= 16 and root:
            base = root[:-1] + "." + ext
        else:
            base = base[:-1]
    return _trim(base) or fallback


def unused_path(directory: Path, name: str) -> Path:
    """`directory/name`, or `name (1)`, `name (2)`... the first that does not exist.

    Existing links count as existing: nothing is ever overwritten.
    """
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem:
        stem, ext = name, ""
    candidate = directory / name
    counter = 1
    while os.path.lexists(candidate):
        suffix = f" ({counter})"
        candidate = directory / (f"{stem}{suffix}.{ext}" if ext else f"{stem}{suffix}")
        counter += 1
    return candidate
