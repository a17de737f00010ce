"""Configuration, read from environment variables only.

With nothing set Netwerk runs on the embedded default: a SQLite file under ``instance/``, an
in-process job worker and broker, and a secret key plus a key file generated under
``instance/`` with mode 0600. ``NETWERK_ENV=production`` refuses to start unless the secret
key and the key file are given explicitly, because a generated key on a server is a key
nobody backs up.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
DEFAULT_INSTANCE = BASE_DIR / "instance"


class ConfigError(RuntimeError):
    """Raised with one line saying what is missing; the CLI prints it and exits."""


def _flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on", "ja"}


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or not value.strip():
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, got {value!r}") from exc


def write_secret_file(path: Path, content: str) -> None:
    """Create ``path`` with mode 0600 from the start (never world-readable, not even briefly)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)  # a new folder is private too
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(content)


def _generated_secret(instance: Path, name: str) -> str:
    path = instance / name
    if not path.exists():
        with contextlib.suppress(FileExistsError):  # another process won the race; read theirs
            write_secret_file(path, secrets.token_urlsafe(48))
    return path.read_text(encoding="utf-8").strip()


def _normalise_db_url(url: str) -> str:
    # Hosting platforms hand out postgres:// URLs; SQLAlchemy needs the driver spelled out.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


@dataclass
class Config:
    """Everything the app reads from the environment, resolved once at start-up."""

    ENV: str = "development"
    INSTANCE_PATH: Path = DEFAULT_INSTANCE
    SECRET_KEY: str = ""
    KEY_FILE: Path = DEFAULT_INSTANCE / "netwerk-keys.json"
    SQLALCHEMY_DATABASE_URI: str = ""
    REDIS_URL: str | None = None
    EMBEDDED_WORKER: bool = True
    BASE_URL: str = "http://127.0.0.1:5000"
    PROXY_HOPS: int = 0
    SMTP_HOST: str | None = None
    SMTP_PORT: int = 25
    SMTP_USER: str | None = None
    SMTP_PASSWORD: str | None = None
    SMTP_STARTTLS: bool = True
    MAIL_FROM: str = "netwerk@localhost"
    DEMO_MODE: bool = True
    DEMO_2FA: bool = False
    TWO_FACTOR_ROLES: tuple[str, ...] = ("beheerder", "voorzitter", "privacy")
    LOGIN_MAX_FAILURES: int = 5
    LOGIN_LOCK_MINUTES: int = 15
    LOGIN_RATE_LIMIT: str = "20 per minute"
    SESSION_IDLE_MINUTES: int = 30
    SESSION_ABSOLUTE_HOURS: int = 12
    API_TOKEN_HOURS: int = 8
    # Personal API tokens (profile): the longest lifetime a user may choose, and how many
    # unrevoked ones a user may hold.
    PERSONAL_TOKEN_MAX_DAYS: int = 365
    PERSONAL_TOKEN_MAX_ACTIVE: int = 10
    # The letterhead on PDFs (letters to families, reports): the sender, then address lines.
    LETTERHEAD_NAME: str = "Netwerk (demo-regio)"
    LETTERHEAD_LINES: tuple[str, ...] = ("Postbus 0000, 0000 AA Demostad", "Telefoon 14 000")
    AUDIT_CHECKPOINT_EVERY: int = 1000
    MATCH_RESPONSE_DAYS: int = 10
    # Mijn acties and its reminders: an open action due within this many working days is "binnenkort".
    ACTION_DUE_SOON_WORKING_DAYS: int = 3
    # An action its owner has not accepted this many days after it was made is "niet geaccepteerd".
    ACTION_ACCEPT_DAYS: int = 5
    MY_ACTIONS_PER_PAGE: int = 100
    INVOLVEMENT_MAX_YEARS: int = 2
    INVOLVEMENT_AGE_LIMIT: int = 23
    # Identifying a person can reveal that someone is known: past this many attempts per
    # hour a user is refused and the privacy officer is alerted.
    LOOKUP_LIMIT_PER_HOUR: int = 30
    EMERGENCY_ACCESS_MINUTES: int = 60
    # Subject access report: organisation types whose professionals are not named to the
    # family (AVG art. 23, UAVG art. 41), and the most rows one report may have.
    SAR_WITHHOLD_NAMES_TYPES: tuple[str, ...] = ("veilig_thuis", "politie")
    SAR_MAX_ROWS: int = 20_000
    # Audit explorer exports: more matching rows than this is refused with a request to narrow the filter.
    AUDIT_CSV_MAX_ROWS: int = 100_000
    AUDIT_PDF_MAX_ROWS: int = 5_000
    # The privacy officer's review queue (privacy.review): a burst is this many distinct
    # families viewed by one user within the minutes; repeated denials likewise; flagged
    # look-ups and views outside a context within REVIEW_GROUP_MINUTES form one flag; the
    # queue page computes a tail of at most REVIEW_ON_THE_FLY_MAX entries itself.
    REVIEW_BURST_FAMILIES: int = 15
    REVIEW_BURST_MINUTES: int = 10
    REVIEW_DENIALS: int = 20
    REVIEW_DENIALS_MINUTES: int = 10
    REVIEW_GROUP_MINUTES: int = 60
    REVIEW_ON_THE_FLY_MAX: int = 5000
    # A region's copy of the SMART checker's word lists (netwerk/data/smart_nl.toml).
    SMART_WORDS_FILE: Path | None = None
    ARGON2_TIME_COST: int = 3
    ARGON2_MEMORY_COST: int = 65536
    ARGON2_PARALLELISM: int = 4
    TESTING: bool = False
    # Flask / extension settings derived from the above
    MAX_CONTENT_LENGTH: int = 1024 * 1024
    SESSION_COOKIE_HTTPONLY: bool = True
    SESSION_COOKIE_SAMESITE: str = "Lax"
    SESSION_COOKIE_SECURE: bool = False
    SESSION_COOKIE_NAME: str = "netwerk_session"
    SQLALCHEMY_ENGINE_OPTIONS: dict = field(default_factory=dict)
    WTF_CSRF_TIME_LIMIT: int | None = None
    WTF_I18N_ENABLED: bool = False  # use WTForms' own Dutch catalogue, no Babel needed
    RATELIMIT_STORAGE_URI: str = "memory://"
    RATELIMIT_HEADERS_ENABLED: bool = False

    @property
    def is_production(self) -> bool:
        return self.ENV == "production"

    @property
    def is_sqlite(self) -> bool:
        return self.SQLALCHEMY_DATABASE_URI.startswith("sqlite")

    def as_flask_mapping(self) -> dict:
        # vars(), not the dataclass fields: overrides may add Flask/extension settings.
        return dict(vars(self))


def load_config(overrides: dict | None = None) -> Config:
    """Build the configuration from ``os.environ`` (and test overrides)."""
    env = os.environ.get("NETWERK_ENV", "development").strip().lower()
    instance = Path(os.environ.get("NETWERK_INSTANCE_PATH", DEFAULT_INSTANCE))
    cfg = Config(ENV=env, INSTANCE_PATH=instance)
    production = env == "production"

    secret = os.environ.get("SECRET_KEY")
    key_file = os.environ.get("NETWERK_KEY_FILE")
    if production:
        missing = [n for n, v in (("SECRET_KEY", secret), ("NETWERK_KEY_FILE", key_file)) if not v]
        if missing:
            raise ConfigError(
                "NETWERK_ENV=production needs " + " and ".join(missing)
                + " set explicitly; create a key file with `python -m privacy.keys PATH`"
            )
        if len(secret or "") < 32:
            raise ConfigError("SECRET_KEY must be at least 32 characters in production")
        if not Path(key_file).is_file():  # type: ignore[arg-type]
            raise ConfigError(f"NETWERK_KEY_FILE {key_file} does not exist")
    cfg.SECRET_KEY = secret or _generated_secret(instance, "secret_key")
    cfg.KEY_FILE = Path(key_file) if key_file else instance / "netwerk-keys.json"

    db_url = os.environ.get("DATABASE_URL")
    cfg.SQLALCHEMY_DATABASE_URI = (
        _normalise_db_url(db_url) if db_url else f"sqlite:///{instance / 'netwerk.sqlite3'}"
    )
    cfg.REDIS_URL = os.environ.get("REDIS_URL") or None
    cfg.EMBEDDED_WORKER = cfg.REDIS_URL is None
    if cfg.REDIS_URL:
        cfg.RATELIMIT_STORAGE_URI = cfg.REDIS_URL

    cfg.BASE_URL = os.environ.get("NETWERK_BASE_URL", cfg.BASE_URL).rstrip("/")
    cfg.PROXY_HOPS = _int("NETWERK_PROXY_HOPS", 0)
    cfg.SMTP_HOST = os.environ.get("SMTP_HOST") or None
    cfg.SMTP_PORT = _int("SMTP_PORT", 587 if cfg.SMTP_HOST else 25)
    cfg.SMTP_USER = os.environ.get("SMTP_USER") or None
    cfg.SMTP_PASSWORD = os.environ.get("SMTP_PASSWORD") or None
    cfg.SMTP_STARTTLS = _flag("SMTP_STARTTLS", True)
    cfg.MAIL_FROM = os.environ.get("MAIL_FROM", cfg.MAIL_FROM)
    cfg.DEMO_MODE = not production and _flag("NETWERK_DEMO_MODE", True)
    cfg.DEMO_2FA = _flag("NETWERK_DEMO_2FA")
    roles = os.environ.get("NETWERK_2FA_ROLES")
    if roles is not None:
        cfg.TWO_FACTOR_ROLES = tuple(r.strip() for r in roles.split(",") if r.strip())
    cfg.LOGIN_MAX_FAILURES = _int("NETWERK_LOGIN_MAX_FAILURES", cfg.LOGIN_MAX_FAILURES)
    cfg.LOGIN_LOCK_MINUTES = _int("NETWERK_LOGIN_LOCK_MINUTES", cfg.LOGIN_LOCK_MINUTES)
    cfg.SESSION_IDLE_MINUTES = _int("NETWERK_SESSION_IDLE_MINUTES", cfg.SESSION_IDLE_MINUTES)
    cfg.SESSION_ABSOLUTE_HOURS = _int("NETWERK_SESSION_ABSOLUTE_HOURS", cfg.SESSION_ABSOLUTE_HOURS)
    cfg.API_TOKEN_HOURS = min(_int("NETWERK_API_TOKEN_HOURS", cfg.API_TOKEN_HOURS), 8)
    cfg.PERSONAL_TOKEN_MAX_DAYS = min(_int("NETWERK_PERSONAL_TOKEN_MAX_DAYS", cfg.PERSONAL_TOKEN_MAX_DAYS), 365)
    cfg.PERSONAL_TOKEN_MAX_ACTIVE = _int("NETWERK_PERSONAL_TOKEN_MAX_ACTIVE", cfg.PERSONAL_TOKEN_MAX_ACTIVE)
    cfg.LETTERHEAD_NAME = os.environ.get("NETWERK_LETTERHEAD_NAME", cfg.LETTERHEAD_NAME)
    lines = os.environ.get("NETWERK_LETTERHEAD_LINES")  # "|" between lines
    if lines is not None:
        cfg.LETTERHEAD_LINES = tuple(part.strip() for part in lines.split("|") if part.strip())
    cfg.AUDIT_CHECKPOINT_EVERY = _int("NETWERK_AUDIT_CHECKPOINT_EVERY", cfg.AUDIT_CHECKPOINT_EVERY)
    cfg.MATCH_RESPONSE_DAYS = _int("NETWERK_MATCH_RESPONSE_DAYS", cfg.MATCH_RESPONSE_DAYS)
    cfg.ACTION_DUE_SOON_WORKING_DAYS = _int("NETWERK_ACTION_DUE_SOON_WORKING_DAYS", cfg.ACTION_DUE_SOON_WORKING_DAYS)
    cfg.ACTION_ACCEPT_DAYS = _int("NETWERK_ACTION_ACCEPT_DAYS", cfg.ACTION_ACCEPT_DAYS)
    cfg.MY_ACTIONS_PER_PAGE = _int("NETWERK_MY_ACTIONS_PER_PAGE", cfg.MY_ACTIONS_PER_PAGE)
    cfg.LOOKUP_LIMIT_PER_HOUR = _int("NETWERK_LOOKUP_LIMIT_PER_HOUR", cfg.LOOKUP_LIMIT_PER_HOUR)
    cfg.EMERGENCY_ACCESS_MINUTES = _int("NETWERK_EMERGENCY_ACCESS_MINUTES", cfg.EMERGENCY_ACCESS_MINUTES)
    shielded = os.environ.get("NETWERK_SAR_WITHHOLD_NAMES_TYPES")
    if shielded is not None:
        cfg.SAR_WITHHOLD_NAMES_TYPES = tuple(t.strip() for t in shielded.split(",") if t.strip())
    cfg.SAR_MAX_ROWS = _int("NETWERK_SAR_MAX_ROWS", cfg.SAR_MAX_ROWS)
    cfg.AUDIT_CSV_MAX_ROWS = _int("NETWERK_AUDIT_CSV_MAX_ROWS", cfg.AUDIT_CSV_MAX_ROWS)
    cfg.AUDIT_PDF_MAX_ROWS = _int("NETWERK_AUDIT_PDF_MAX_ROWS", cfg.AUDIT_PDF_MAX_ROWS)
    for name in ("REVIEW_BURST_FAMILIES", "REVIEW_BURST_MINUTES", "REVIEW_DENIALS", "REVIEW_DENIALS_MINUTES",
                 "REVIEW_GROUP_MINUTES", "REVIEW_ON_THE_FLY_MAX"):
        setattr(cfg, name, _int(f"NETWERK_{name}", getattr(cfg, name)))
    words = os.environ.get("NETWERK_SMART_WORDS_FILE")
    cfg.SMART_WORDS_FILE = Path(words) if words else None
    cfg.SESSION_COOKIE_SECURE = production or _flag("NETWERK_SECURE_COOKIES")

    for key, value in (overrides or {}).items():
        setattr(cfg, key, value)
    cfg.SQLALCHEMY_ENGINE_OPTIONS = engine_options(cfg.SQLALCHEMY_DATABASE_URI)
    return cfg


def engine_options(url: str) -> dict:
    # hide_parameters: a database error (logged as an unexpected error) must not carry the
    # statement's values, such as password hashes, e-mail addresses or ciphertexts.
    if url.startswith("sqlite"):
        # check_same_thread off: the embedded worker thread shares the engine; the
        # ``begin`` hook in netwerk.db turns every transaction into BEGIN IMMEDIATE.
        return {"connect_args": {"check_same_thread": False, "timeout": 30}, "hide_parameters": True}
    return {"pool_pre_ping": True, "hide_parameters": True}
