"""The server's configuration: one frozen object, read once from `DROPBOX_*` variables.

Every setting has a safe default so that `Config.from_env()` works on a fresh
machine; `Config.for_instance(path)` is the same with an explicit instance dir
(tests use it). Nothing here is a global: the object is passed to
`create_app(config)` and stored on the app.
"""

from __future__ import annotations

import dataclasses
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_CATEGORIES: tuple[str, ...] = (
    "harassment",
    "doxing",
    "threats",
    "legal-pressure",
    "self-harm",
    "other",
)
DEFAULT_MAX_UPLOAD_BYTES = 500 * 1000 * 1000
# FORMAT.md §5.2: a category is what a stored report's "category" may hold.
CATEGORY_RE = re.compile(r"[a-z0-9_-]{1,32}")
FLASK_KEY_FILE = "secret-key"
SESSION_KEY_BYTES = 32


class ConfigError(Exception):
    """A DROPBOX_* setting is malformed; the message names the variable and what it expects."""


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 1) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    lowered = raw.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be 1/0, true/false, yes/no or on/off, got {raw!r}")


def _categories(raw: str | None) -> tuple[str, ...]:
    """DROPBOX_CATEGORIES as a tuple; ConfigError unless each obeys FORMAT.md §5.2, once."""
    if not raw:
        return DEFAULT_CATEGORIES
    categories = tuple(c.strip() for c in raw.split(",") if c.strip())
    if not categories:
        raise ConfigError("DROPBOX_CATEGORIES must list at least one category")
    for category in categories:
        if not CATEGORY_RE.fullmatch(category):
            raise ConfigError(
                f"DROPBOX_CATEGORIES: {category[:40]!r} is not a valid category; use 1 to 32 "
                "of a-z, 0-9, '_' and '-' (for example legal-pressure)"
            )
    if len(set(categories)) != len(categories):
        raise ConfigError("DROPBOX_CATEGORIES lists the same category twice")
    return categories


def default_runtime_dir() -> Path:
    """A tmpfs directory for sessions: $XDG_RUNTIME_DIR/dropbox, else /dev/shm/dropbox-<uid>."""
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    if xdg:
        return Path(xdg) / "dropbox"
    # A RAM-backed directory; sessions.SessionStore refuses it unless we own it (mode 0700).
    return Path("/dev/shm") / f"dropbox-{os.getuid()}"  # noqa: S108  # nosec B108


def load_or_create_secret_key(instance_dir: Path) -> str:
    """Return the instance's Flask secret key, creating it (0600) on first use.

    Raises OSError if the instance directory cannot be written.
    """
    path = instance_dir / FLASK_KEY_FILE
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        pass
    instance_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        # Another gunicorn worker won the race; use its key so sessions agree.
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    return key


def read_session_key(path: Path, variable: str = "DROPBOX_SESSION_KEY_FILE") -> bytes:
    """The 32-byte key that seals session cookies, read from `path`.

    Raises ConfigError if the file is missing, unreadable, not exactly 32 bytes,
    or readable by anyone but its owner (it must be mode 0600 or stricter).
    """
    try:
        status = path.stat()
        raw = path.read_bytes()
    except OSError as error:
        raise ConfigError(
            f"{variable}: cannot read the session key {path} ({error.strerror}); create it with "
            f"(umask 077; head -c 32 /dev/urandom > {path})"
        ) from None
    if status.st_mode & 0o077:
        raise ConfigError(
            f"{variable}: {path} is readable by group or others (mode "
            f"{status.st_mode & 0o777:o}); run chmod 600 {path}"
        )
    if len(raw) != SESSION_KEY_BYTES:
        raise ConfigError(
            f"{variable}: {path} holds {len(raw)} bytes, a session key is exactly "
            f"{SESSION_KEY_BYTES} (head -c 32 /dev/urandom)"
        )
    return raw


def _key_file(env: Mapping[str, str], name: str) -> Path | None:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return None
    path = Path(raw.strip()).resolve()
    read_session_key(path, name)  # refuse to start now, not at the first request
    return path


@dataclass(frozen=True)
class Config:
    """Everything the reporter app and the responder API need to know about a deployment."""

    instance_dir: Path
    database_url: str
    runtime_dir: Path
    secret_key: str
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    categories: tuple[str, ...] = DEFAULT_CATEGORIES
    session_idle_minutes: int = 30
    crisis_file: Path | None = None
    safety_file: Path | None = None
    support_file: Path | None = None
    max_attachments: int = 20
    max_text_chars: int = 100_000
    heavy_concurrency: int = 4
    upload_concurrency: int = 8
    # An upload that sends no byte for this long is refused (deploy/README.md, Sizing).
    upload_idle_seconds: int = 120
    # Every request (headers, body) must arrive at this pace on average after a grace
    # (Apache mod_reqtimeout's MinRate; 0 turns the floor off). deploy/README.md, Sizing.
    request_min_bytes_per_second: int = 500
    request_grace_seconds: int = 30
    login_attempts_per_session: int = 10
    sqlite_secure_delete: bool = True
    retention_days: int = 90
    reporter_inactive_days: int = 180
    # Set: sealed cookie sessions (dropbox.session_sealed), shared by all backends.
    session_key_file: Path | None = None
    session_previous_key_file: Path | None = None
    testing: bool = False

    @property
    def envelopes_dir(self) -> Path:
        return self.instance_dir / "envelopes"

    @property
    def tmp_dir(self) -> Path:
        return self.instance_dir / "tmp"

    @property
    def keyring_path(self) -> Path:
        return self.instance_dir / "keyring.json"

    @property
    def salt_path(self) -> Path:
        return self.instance_dir / "instance-salt"

    @property
    def sessions_path(self) -> Path:
        return self.runtime_dir / "sessions.sqlite3"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Config:
        """Read DROPBOX_* variables (defaults documented in docs/ARCHITECTURE.md).

        Raises ConfigError naming the variable that is malformed.
        """
        env = os.environ if env is None else env
        instance_dir = Path(env.get("DROPBOX_INSTANCE") or "./instance").resolve()
        return cls.for_instance(instance_dir, env)

    @classmethod
    def for_instance(cls, instance_dir: Path, env: Mapping[str, str] | None = None) -> Config:
        """The configuration for `instance_dir`, other settings from `env` (default: none)."""
        env = {} if env is None else env
        instance_dir = instance_dir.resolve()
        instance_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        database_url = env.get("DROPBOX_DATABASE_URL") or (
            f"sqlite:///{instance_dir / 'drop.sqlite3'}"
        )
        runtime_raw = env.get("DROPBOX_RUNTIME_DIR")
        runtime_dir = Path(runtime_raw).resolve() if runtime_raw else default_runtime_dir()
        categories = _categories(env.get("DROPBOX_CATEGORIES"))

        session_key_file = _key_file(env, "DROPBOX_SESSION_KEY_FILE")
        previous_key_file = _key_file(env, "DROPBOX_SESSION_PREVIOUS_KEY_FILE")
        if previous_key_file is not None and session_key_file is None:
            raise ConfigError(
                "DROPBOX_SESSION_PREVIOUS_KEY_FILE is set without DROPBOX_SESSION_KEY_FILE"
            )

        def content_path(name: str, default_name: str) -> Path | None:
            raw = env.get(name)
            if raw:
                return Path(raw).resolve()
            candidate = instance_dir / default_name
            return candidate

        return cls(
            instance_dir=instance_dir,
            database_url=database_url,
            runtime_dir=runtime_dir,
            secret_key=env.get("DROPBOX_SECRET_KEY") or load_or_create_secret_key(instance_dir),
            max_upload_bytes=_int(env, "DROPBOX_MAX_UPLOAD_BYTES", DEFAULT_MAX_UPLOAD_BYTES),
            categories=categories,
            session_idle_minutes=_int(env, "DROPBOX_SESSION_IDLE_MINUTES", 30),
            crisis_file=content_path("DROPBOX_CRISIS_FILE", "crisis.json"),
            safety_file=content_path("DROPBOX_SAFETY_FILE", "safety.json"),
            support_file=content_path("DROPBOX_SUPPORT_FILE", "support.json"),
            max_attachments=_int(env, "DROPBOX_MAX_ATTACHMENTS", 20),
            max_text_chars=_int(env, "DROPBOX_MAX_TEXT_CHARS", 100_000),
            heavy_concurrency=_int(env, "DROPBOX_HEAVY_CONCURRENCY", 4),
            upload_concurrency=_int(env, "DROPBOX_UPLOAD_CONCURRENCY", 8),
            upload_idle_seconds=_int(env, "DROPBOX_UPLOAD_IDLE_SECONDS", 120, minimum=5),
            request_min_bytes_per_second=_int(env, "DROPBOX_REQUEST_MIN_BYTES_PER_SECOND", 500,
                                             minimum=0),
            request_grace_seconds=_int(env, "DROPBOX_REQUEST_GRACE_SECONDS", 30, minimum=5),
            login_attempts_per_session=_int(env, "DROPBOX_LOGIN_ATTEMPTS_PER_SESSION", 10),
            sqlite_secure_delete=_bool(env, "DROPBOX_SQLITE_SECURE_DELETE", True),
            retention_days=_int(env, "DROPBOX_RETENTION_DAYS", 90),
            reporter_inactive_days=_int(env, "DROPBOX_REPORTER_INACTIVE_DAYS", 180),
            session_key_file=session_key_file,
            session_previous_key_file=previous_key_file,
        )

    def replace(self, **changes: object) -> Config:
        """A copy with some settings changed (tests use it)."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]
