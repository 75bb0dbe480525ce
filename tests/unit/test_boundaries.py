"""Package boundaries are trust boundaries: checked on the source, not by convention.

- dropbox/ (the server) never names a responder secret-key type or loads an identity;
- stem is imported only by dropbox/onion.py;
- keys/ imports nothing but PyNaCl and the standard library;
- the air-gapped half of journalist_cli/ never imports a network library.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SECRET_NAMES = {
    "ResponderIdentity",
    "OnlineSigningKey",
    "ReplyKeyPair",
    "PrivateKey",
    "SigningKey",
    "decrypt",
    "decrypt_to_path",
}
# The JS-off path derives a reporter's reply key in memory for one request
# (issue 3): that is the one place a reply secret may exist on the server.
REPLY_KEY_ALLOWED = {"dropbox/reporter/codename_session.py", "dropbox/reporter/inbox.py"}


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _imports(path: Path) -> list[tuple[str, set[str]]]:
    """Every (module, imported names) pair in a file, including `import x.y`."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[str, set[str]]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((alias.name, set()) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, {alias.name for alias in node.names}))
    return found


def _names_used(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    names |= {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    return names


def test_packages_exist() -> None:
    for package in ("keys", "dropbox", "journalist_cli"):
        assert _modules(package), f"{package}/ has no modules"


@pytest.mark.parametrize("path", _modules("dropbox"), ids=lambda p: str(p.relative_to(ROOT)))
def test_server_never_touches_responder_secrets(path: Path) -> None:
    rel = str(path.relative_to(ROOT))
    forbidden = set(SECRET_NAMES)
    if rel in REPLY_KEY_ALLOWED:
        forbidden -= {"ReplyKeyPair", "decrypt"}
    for module, names in _imports(path):
        if module.startswith(("keys", "nacl")):
            assert not (names & forbidden), f"{rel} imports {names & forbidden} from {module}"
    used = _names_used(path) & forbidden
    assert not used, f"{rel} uses secret-key names {used}"


def test_stem_only_in_onion_module() -> None:
    users = [
        str(p.relative_to(ROOT))
        for pkg in ("keys", "dropbox", "journalist_cli")
        for p in _modules(pkg)
        if any(m == "stem" or m.startswith("stem.") for m, _ in _imports(p))
    ]
    assert users == ["dropbox/onion.py"] or users == [], users


def test_keys_depends_on_pynacl_and_stdlib_only() -> None:
    stdlib = set(sys.stdlib_module_names)
    for path in _modules("keys"):
        for module, _ in _imports(path):
            top = module.split(".")[0]
            assert top in stdlib or top in {"nacl", "keys"}, f"{path}: imports {module}"


OFFLINE_FORBIDDEN = {"socket", "requests", "urllib3", "http", "socks", "ssl"}


def test_offline_half_imports_no_network_library() -> None:
    online = {"fetch", "push", "status", "online", "http_client", "transport", "api_client"}
    for path in _modules("journalist_cli"):
        if any(part in path.stem for part in online) or path.name == "main.py":
            continue
        for module, _ in _imports(path):
            top = module.split(".")[0]
            assert top not in OFFLINE_FORBIDDEN, f"{path}: offline module imports {module}"
