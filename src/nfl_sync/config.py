"""Settings of the pipeline, read once from the environment (and `.env`) into one frozen object.

Every tunable the daemon has is declared here with its default, so `.env.example`, the README and
the code cannot drift apart. A malformed value stops start-up with one line that names the
variable (`ConfigError`, exit status 2); secrets are never echoed back in those messages.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import TypeVar
from urllib.parse import quote, unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from nfl_sync.domain.errors import ConfigError
from nfl_sync.domain.events import ALERT_TYPES, AlertType

PROJECT_ROOT = Path(__file__).resolve().parents[2]


DEFAULT_KALSHI_BASE_URL = "https://external-api.kalshi.com/trade-api/v2"
DEFAULT_ESPN_BASE_URL = "https://site.api.espn.com/apis/site/v2/sports/football/nfl"
DEFAULT_ESPN_CORE_BASE_URL = "https://sports.core.api.espn.com/v2/sports/football/leagues/nfl"
DEFAULT_OPENWEATHER_BASE_URL = "https://api.openweathermap.org/data/2.5"
DEFAULT_OPEN_METEO_BASE_URL = "https://api.open-meteo.com/v1"
DEFAULT_ODDS_API_BASE_URL = "https://api.the-odds-api.com/v4"
DEFAULT_TELEGRAM_API_BASE_URL = "https://api.telegram.org/bot"


@dataclass(frozen=True)
class ConnectionLimits:
    """The bounded waits of every database session (seconds; 0 switches a timeout off), so a
    held lock, a runaway query or a silent network partition costs a step, never the loop."""

    statement_timeout: float = 15.0
    lock_timeout: float = 5.0
    idle_in_transaction_timeout: float = 60.0
    keepalives_idle: int = 30
    keepalives_interval: int = 10
    keepalives_count: int = 3


@dataclass(frozen=True)
class DatabaseSettings:
    url: str | None
    """A libpq URL for a configured server, or None to use the embedded PostgreSQL."""
    embedded_dir: Path
    pool_min: int
    pool_max: int
    connect_timeout: int
    limits: ConnectionLimits = ConnectionLimits()
    unreachable_alert_after: float = 30.0
    """Seconds the database may stay unreachable before a critical alert goes out directly."""
    hold_dir: Path = PROJECT_ROOT / "data" / "held"
    """Where writes held during a database outage spill when they outgrow memory."""
    overridden: tuple[str, ...] = ()
    """The DB_* variables set beside DATABASE_URL, which wins over them (said at start-up)."""

    def describe(self) -> str:
        """Which database is in use, for the start-up line: host, port, name and user of a
        configured server (never its password), or the embedded server's folder."""
        if self.url is None:
            return f"embedded PostgreSQL at {self.embedded_dir}"
        parts = urlsplit(self.url)
        try:
            port = parts.port or 5432
        except ValueError:  # libpq reads the URL, and says what is wrong with it
            port = 5432
        host = parts.hostname or "localhost (Unix socket)"
        name = unquote(parts.path.lstrip("/")) or "(the user's)"
        user = unquote(parts.username) if parts.username else "(the login user)"
        return f"PostgreSQL at {host}:{port}, database {name}, user {user}"


@dataclass(frozen=True)
class Settings:
    database: DatabaseSettings
    # Sources
    espn_base_url: str
    espn_core_base_url: str
    espn_rate_per_second: float
    espn_rate_per_minute: int
    openweather_api_key: str | None
    openweather_base_url: str
    open_meteo_base_url: str
    odds_api_key: str | None
    odds_api_base_url: str
    kalshi_base_url: str
    kalshi_api_key_id: str | None
    kalshi_private_key_path: Path | None
    kalshi_legacy_credentials: bool
    kalshi_series: tuple[str, ...]
    kalshi_reads_per_second: float
    http_timeout: float
    http_max_tries: int
    http_deadline: float
    cache_ttl: float
    # Telegram
    telegram_bot_token: str | None = field(repr=False)
    telegram_chat_ids: tuple[str, ...]
    telegram_enabled: bool
    telegram_api_base_url: str
    telegram_parse_mode: str
    # Cadences (seconds)
    sync_interval: float
    idle_poll_interval: float
    injury_interval: float
    weather_interval: float
    schedule_interval: float
    health_interval: float
    correlation_delay: float
    pbp_workers: int
    # Detection thresholds
    big_play_yards: int
    price_spike_pct: float
    # Alert policy
    cooldowns: Mapping[str, int]
    daily_alert_limit: int
    quiet_hours: tuple[time, time] | None
    timezone: ZoneInfo
    # Operations
    metrics_port: int
    log_level: str
    log_dir: Path
    metrics_host: str = "127.0.0.1"
    # A price move alerts when it is >= price_spike_pct percent AND >= this many cents.
    price_spike_min_cents: float = 1.0
    # Retention (days; 0 keeps everything) and how often it is applied (seconds)
    sync_log_retention_days: float = 30.0
    price_retention_days: float = 90.0
    retention_interval: float = 3600.0
    # Seconds between box-score refreshes of a live game (0: only at first sight and at the end)
    player_stats_interval: float = 180.0
    env_file: Path | None = None  # the .env file the settings were read from, if any
    # Edge alerts: a game-winner market this many percentage points below ESPN's win probability,
    # and the seconds before the same side is alerted again
    edge_alert_points: float = 15.0
    edge_alert_cooldown: float = 900.0
    record_dir: Path | None = None  # --record: where ESPN's and Kalshi's responses are kept (off: None)
    # What the command line's `--set` changed, by environment name (a backtest report names them).
    overrides: Mapping[str, str] = field(default_factory=dict, repr=False)
    # Whether chats other than TELEGRAM_CHAT_ID's (the admins) may subscribe through the bot
    telegram_allow_new_chats: bool = False

    @property
    def telegram_configured(self) -> bool:
        return bool(self.telegram_enabled and self.telegram_bot_token and self.telegram_chat_ids)

    @property
    def kalshi_signing(self) -> bool:
        return bool(self.kalshi_api_key_id and self.kalshi_private_key_path)


N = TypeVar("N", int, float)


class _Reader:
    """Typed accessors over an environment mapping; each error names the variable."""

    def __init__(self, env: Mapping[str, str]):
        self.env = env
        self.asked: set[str] = set()  # every name read, to tell an override of no setting

    def raw(self, name: str) -> str | None:
        self.asked.add(name)
        value = self.env.get(name)
        if value is None:
            return None
        value = value.strip()
        return value or None

    def optional(self, name: str) -> str | None:
        """The value, or None when unset or blank."""
        return self.raw(name)

    def text(self, name: str, default: str) -> str:
        value = self.raw(name)
        return default if value is None else value

    def _number(self, name: str, default: N, kind: Callable[[str], N], minimum: N, allow_zero: bool) -> N:
        value = self.raw(name)
        if value is None:
            return default
        try:
            number = kind(value)
        except ValueError:
            raise ConfigError(f"{name} must be a number, got {value!r}") from None
        # nan passes every comparison below (and makes a cadence a busy loop); inf is no cadence either.
        if not math.isfinite(number):
            raise ConfigError(f"{name} must be a finite number, got {value!r}")
        if number < minimum or (not allow_zero and number == 0):
            bound = f">= {minimum}" if allow_zero else f"> {minimum}"
            raise ConfigError(f"{name} must be {bound}, got {value!r}")
        return number

    def integer(self, name: str, default: int, minimum: int = 0, allow_zero: bool = True) -> int:
        return self._number(name, default, int, minimum, allow_zero)

    def real(self, name: str, default: float, minimum: float = 0.0, allow_zero: bool = False) -> float:
        return self._number(name, default, float, minimum, allow_zero)

    def flag(self, name: str, default: bool) -> bool:
        value = self.raw(name)
        if value is None:
            return default
        lowered = value.lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{name} must be true or false, got {value!r}")

    def url(self, name: str, default: str) -> str:
        value = self.text(name, default)
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigError(f"{name} must be an http(s) URL, got {value!r}")
        return value.rstrip("/")

    def csv(self, name: str, default: tuple[str, ...]) -> tuple[str, ...]:
        value = self.raw(name)
        if value is None:
            return default
        return tuple(item.strip() for item in value.split(",") if item.strip())


# Any of these selects a configured server, with the specification's defaults for the others.
DB_PARTS = ("DB_HOST", "DB_PORT", "DB_NAME", "DB_USER", "DB_PASSWORD")


def _database(r: _Reader) -> DatabaseSettings:
    url = r.optional("DATABASE_URL")
    parts = tuple(name for name in DB_PARTS if r.optional(name) is not None)
    if url is not None and not re.match(r"^postgres(ql)?://", url):
        raise ConfigError("DATABASE_URL must start with postgresql://")
    overridden = parts if url is not None else ()
    if url is None and parts:
        port = r.integer("DB_PORT", 5432, minimum=1)
        if port > 65535:
            raise ConfigError(f"DB_PORT must be between 1 and 65535, got {port}")
        url = _libpq_url(
            host=r.text("DB_HOST", "localhost"),
            port=port,
            name=r.text("DB_NAME", "magnus"),
            user=r.text("DB_USER", "postgres"),
            password=r.optional("DB_PASSWORD"),
        )
    embedded_dir = _project_path(r.text("EMBEDDED_PG_DIR", "data/postgres"))
    pool_min = r.integer("DB_POOL_MIN", 2, minimum=1)
    # The sender holds one connection for its claim while it records the attempt on another, and
    # a lane writes meanwhile: fewer than 3 would have the sender wait on itself.
    pool_max = r.integer("DB_POOL_MAX", 10, minimum=3)
    if pool_max < pool_min:
        raise ConfigError(f"DB_POOL_MAX must be >= DB_POOL_MIN ({pool_min}), got {pool_max}")
    return DatabaseSettings(
        url=url,
        embedded_dir=embedded_dir,
        pool_min=pool_min,
        pool_max=pool_max,
        connect_timeout=r.integer("DB_CONNECT_TIMEOUT", 30, minimum=1),
        limits=ConnectionLimits(
            statement_timeout=r.real("DB_STATEMENT_TIMEOUT", 15.0, allow_zero=True),
            lock_timeout=r.real("DB_LOCK_TIMEOUT", 5.0, allow_zero=True),
            idle_in_transaction_timeout=r.real("DB_IDLE_IN_TRANSACTION_TIMEOUT", 60.0, allow_zero=True),
            keepalives_idle=r.integer("DB_KEEPALIVES_IDLE", 30, minimum=1),
            keepalives_interval=r.integer("DB_KEEPALIVES_INTERVAL", 10, minimum=1),
            keepalives_count=r.integer("DB_KEEPALIVES_COUNT", 3, minimum=1),
        ),
        unreachable_alert_after=r.real("DB_UNREACHABLE_ALERT_SECONDS", 30.0),
        hold_dir=_project_path(r.text("DB_HOLD_DIR", "data/held")),
        overridden=overridden,
    )


def _project_path(value: str) -> Path:
    path = Path(value)
    return path if path.is_absolute() else PROJECT_ROOT / path


def _libpq_url(host: str, port: int, name: str, user: str, password: str | None) -> str:
    auth = quote(user, safe="")
    if password:
        auth += ":" + quote(password, safe="")
    return f"postgresql://{auth}@{host}:{port}/{quote(name, safe='')}"


def _quiet_hours(r: _Reader) -> tuple[time, time] | None:
    value = r.optional("QUIET_HOURS")
    if value is None:
        return None
    match = re.fullmatch(r"(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})", value)
    if not match:
        raise ConfigError(f"QUIET_HOURS must look like 23:00-07:00, got {value!r}")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    try:
        return time(h1, m1), time(h2, m2)
    except ValueError:
        raise ConfigError(f"QUIET_HOURS has an impossible time, got {value!r}") from None


def _timezone(r: _Reader) -> ZoneInfo:
    name = r.text("TIMEZONE", "America/New_York")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"TIMEZONE must be an IANA time zone such as America/New_York, got {name!r}") from None


def _cooldowns(r: _Reader, edge_cooldown: float) -> dict[str, int]:
    default = r.integer("ALERT_COOLDOWN_SECONDS", 300)
    cooldowns: dict[str, int] = {
        kind: r.integer(f"ALERT_COOLDOWN_{kind.upper()}", default) for kind in ALERT_TYPES if kind != AlertType.EDGE
    }
    # EDGE_ALERT_COOLDOWN is the policy's too: it holds a side's cooldown across a restart, which
    # forgets the detector's.
    cooldowns[AlertType.EDGE] = math.ceil(edge_cooldown)
    return cooldowns


def load_settings(
    env: Mapping[str, str] | None = None, dotenv_path: Path | None = None, overrides: Mapping[str, str] | None = None
) -> Settings:
    """Build the settings from `env` (default: the process environment after loading `.env`),
    with `overrides` (environment names, as `--set KEY=VALUE` gives them) winning over it.

    Raises ConfigError for the first malformed value found, or an override that names no setting.
    """
    env_file = None
    if env is None:
        from dotenv import load_dotenv

        env_file = dotenv_path or PROJECT_ROOT / ".env"
        load_dotenv(env_file, override=False)
        env = os.environ
        if not env_file.is_file():
            env_file = None
    r = _Reader({**env, **overrides} if overrides else env)
    parse_mode = r.text("TELEGRAM_PARSE_MODE", "HTML")
    if parse_mode not in ("HTML", "MarkdownV2"):
        raise ConfigError(f"TELEGRAM_PARSE_MODE must be HTML or MarkdownV2, got {parse_mode!r}")
    log_level = r.text("LOG_LEVEL", "INFO").upper()
    if log_level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise ConfigError(f"LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL, got {log_level!r}")
    metrics_port = r.integer("METRICS_PORT", 0)
    if metrics_port > 65535:
        raise ConfigError(f"METRICS_PORT must be between 0 and 65535, got {metrics_port}")
    key_path = r.optional("KALSHI_PRIVATE_KEY_PATH")
    log_dir = Path(r.text("LOG_DIR", "logs"))
    edge_cooldown = r.real("EDGE_ALERT_COOLDOWN", 900.0)
    edge_points = r.real("EDGE_ALERT_POINTS", 15.0)
    if edge_points > 100:
        raise ConfigError(f"EDGE_ALERT_POINTS must be at most 100 (percentage points), got {edge_points:g}")
    settings = Settings(
        database=_database(r),
        espn_base_url=r.url("ESPN_BASE_URL", DEFAULT_ESPN_BASE_URL),
        espn_core_base_url=r.url("ESPN_CORE_BASE_URL", DEFAULT_ESPN_CORE_BASE_URL),
        espn_rate_per_second=r.real("ESPN_RATE_PER_SECOND", 1.0),
        espn_rate_per_minute=r.integer("ESPN_RATE_PER_MINUTE", 60, minimum=1),
        openweather_api_key=r.optional("OPENWEATHER_API_KEY"),
        openweather_base_url=r.url("OPENWEATHER_BASE_URL", DEFAULT_OPENWEATHER_BASE_URL),
        open_meteo_base_url=r.url("OPEN_METEO_BASE_URL", DEFAULT_OPEN_METEO_BASE_URL),
        odds_api_key=r.optional("ODDS_API_KEY"),
        odds_api_base_url=r.url("ODDS_API_BASE_URL", DEFAULT_ODDS_API_BASE_URL),
        kalshi_base_url=r.url("KALSHI_BASE_URL", DEFAULT_KALSHI_BASE_URL),
        kalshi_api_key_id=r.optional("KALSHI_API_KEY_ID"),
        kalshi_private_key_path=Path(key_path) if key_path else None,
        kalshi_legacy_credentials=bool(r.optional("KALSHI_EMAIL") or r.optional("KALSHI_PASSWORD")),
        kalshi_series=r.csv("KALSHI_SERIES", ("KXNFLGAME", "KXNFLSPREAD", "KXNFLTOTAL")),
        kalshi_reads_per_second=r.real("KALSHI_READS_PER_SECOND", 10.0),
        http_timeout=r.real("HTTP_TIMEOUT", 10.0),
        http_max_tries=r.integer("HTTP_MAX_TRIES", 4, minimum=1),
        http_deadline=r.real("HTTP_DEADLINE", 30.0),
        cache_ttl=r.real("CACHE_TTL", 60.0),
        telegram_bot_token=r.optional("TELEGRAM_BOT_TOKEN"),
        telegram_chat_ids=r.csv("TELEGRAM_CHAT_ID", ()),
        telegram_enabled=r.flag("TELEGRAM_ENABLED", True),
        telegram_api_base_url=r.url("TELEGRAM_API_BASE_URL", DEFAULT_TELEGRAM_API_BASE_URL),
        telegram_parse_mode=parse_mode,
        telegram_allow_new_chats=r.flag("TELEGRAM_ALLOW_NEW_CHATS", False),
        sync_interval=r.real("SYNC_INTERVAL", 5.0),
        idle_poll_interval=r.real("IDLE_POLL_INTERVAL", 300.0),
        injury_interval=r.real("INJURY_INTERVAL", 300.0, allow_zero=True),
        weather_interval=r.real("WEATHER_INTERVAL", 1800.0, allow_zero=True),
        schedule_interval=r.real("SCHEDULE_INTERVAL", 3600.0),
        health_interval=r.real("HEALTH_INTERVAL", 60.0),
        correlation_delay=r.real("CORRELATION_DELAY", 5.0),
        pbp_workers=r.integer("PBP_WORKERS", 4, minimum=1),
        big_play_yards=r.integer("BIG_PLAY_YARDS", 20, minimum=1),
        price_spike_pct=r.real("PRICE_SPIKE_PCT", 10.0),
        cooldowns=_cooldowns(r, edge_cooldown),
        daily_alert_limit=r.integer("DAILY_ALERT_LIMIT", 100),
        quiet_hours=_quiet_hours(r),
        timezone=_timezone(r),
        metrics_port=metrics_port,
        log_level=log_level,
        log_dir=log_dir if log_dir.is_absolute() else PROJECT_ROOT / log_dir,
        metrics_host=r.text("METRICS_HOST", "127.0.0.1"),
        price_spike_min_cents=r.real("PRICE_SPIKE_MIN_CENTS", 1.0, allow_zero=True),
        sync_log_retention_days=r.real("SYNC_LOG_RETENTION_DAYS", 30.0, allow_zero=True),
        price_retention_days=r.real("PRICE_RETENTION_DAYS", 90.0, allow_zero=True),
        retention_interval=r.real("RETENTION_INTERVAL", 3600.0),
        player_stats_interval=r.real("PLAYER_STATS_INTERVAL", 180.0, allow_zero=True),
        env_file=env_file,
        edge_alert_points=edge_points,
        edge_alert_cooldown=edge_cooldown,
        record_dir=_project_path(record_dir) if (record_dir := r.optional("RECORD_DIR")) else None,
        overrides=dict(overrides or {}),
    )
    # A name never read is a typo; a DB_* beside DATABASE_URL is read only to warn that it is
    # ignored. Either way an override would change nothing while the report says it did.
    unknown = sorted(set(overrides or ()) - r.asked)
    if unknown:
        raise ConfigError(f"{unknown[0]} is not a setting this configuration reads (see .env.example)")
    ignored = sorted(set(overrides or ()) & set(settings.database.overridden))
    if ignored:
        raise ConfigError(f"{ignored[0]} has no effect: DATABASE_URL is set and wins over the DB_* settings")
    return settings


def env_file_exposure(path: Path | None) -> str | None:
    """A warning when the env file (which holds the bot token) can be read by other users than
    its owner; None when it cannot, or there is none."""
    if path is None:
        return None
    try:
        mode = path.stat().st_mode & 0o777
    except OSError:
        return None
    if not mode & 0o077:
        return None
    return (
        f"{path} is readable by other users (mode {mode:04o}) and holds your secrets; "
        f"restrict it with: chmod 600 {path}"
    )


def parse_overrides(pairs: Iterable[str]) -> dict[str, str]:
    """`KEY=VALUE` strings (the command line's `--set`) as a mapping of environment names."""
    overrides = {}
    for pair in pairs:
        name, equals, value = pair.partition("=")
        if not equals or not name.strip():
            # Not echoed: what was meant as a value may be a secret.
            raise ConfigError("--set takes KEY=VALUE, an environment name such as PRICE_SPIKE_PCT and its value")
        overrides[name.strip()] = value
    return overrides


def load_settings_or_exit(overrides: Iterable[str] = ()) -> Settings:
    """`load_settings()` for a command, with the `--set KEY=VALUE` `overrides`: a malformed value
    ends the process with one line and status 2."""
    import sys

    try:
        return load_settings(overrides=parse_overrides(overrides))
    except ConfigError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
