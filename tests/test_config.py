"""Settings: defaults, database choice, and one clear line with exit status 2 for bad values."""

from __future__ import annotations

import subprocess
import sys
from datetime import time
from pathlib import Path

import pytest

from nfl_sync.config import env_file_exposure, load_settings, parse_overrides
from nfl_sync.domain.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent


def test_no_configuration_means_embedded_database_and_console_alerts():
    settings = load_settings({})
    assert settings.database.url is None  # the embedded PostgreSQL
    assert settings.database.embedded_dir == ROOT / "data" / "postgres"
    assert not settings.telegram_configured
    assert settings.sync_interval == 5.0
    assert settings.cooldowns["score"] == 300
    assert settings.daily_alert_limit == 100
    assert str(settings.timezone) == "America/New_York"
    assert settings.kalshi_series == ("KXNFLGAME", "KXNFLSPREAD", "KXNFLTOTAL")
    assert (settings.price_spike_pct, settings.price_spike_min_cents) == (10.0, 1.0)
    assert load_settings({"PRICE_SPIKE_MIN_CENTS": "0"}).price_spike_min_cents == 0.0  # relative only


def test_db_host_builds_a_url_with_the_default_database_and_escaped_password():
    settings = load_settings({"DB_HOST": "db.internal", "DB_PASSWORD": "p@ss:word/1"})
    assert settings.database.url == "postgresql://postgres:p%40ss%3Aword%2F1@db.internal:5432/magnus"


def test_db_password_alone_selects_localhost_5432_magnus_as_postgres():
    settings = load_settings({"DB_PASSWORD": "hunter2"})
    assert settings.database.url == "postgresql://postgres:hunter2@localhost:5432/magnus"
    assert settings.database.describe() == "PostgreSQL at localhost:5432, database magnus, user postgres"
    assert "hunter2" not in settings.database.describe()


@pytest.mark.parametrize(
    "env, described",
    [
        ({"DB_NAME": "trading"}, "PostgreSQL at localhost:5432, database trading, user postgres"),
        ({"DB_USER": "nfl"}, "PostgreSQL at localhost:5432, database magnus, user nfl"),
        ({"DB_PORT": "6543"}, "PostgreSQL at localhost:6543, database magnus, user postgres"),
        ({"DB_HOST": "db.internal", "DB_NAME": "n f"}, "PostgreSQL at db.internal:5432, database n f, user postgres"),
        ({"DATABASE_URL": "postgresql://u:pw@h:7/db"}, "PostgreSQL at h:7, database db, user u"),
    ],
)
def test_each_db_part_is_honoured_and_described_without_the_password(env, described):
    database = load_settings(env).database
    assert database.describe() == described
    assert database.overridden == ()


def test_nothing_configured_is_the_embedded_database_and_blank_parts_select_nothing():
    database = load_settings({"DB_PASSWORD": "", "DB_HOST": "  "}).database
    assert database.url is None
    assert database.describe() == f"embedded PostgreSQL at {ROOT / 'data' / 'postgres'}"


def test_database_url_wins_over_db_parts_and_names_them():
    database = load_settings({"DATABASE_URL": "postgresql://u@h/db", "DB_PASSWORD": "x", "DB_NAME": "magnus"}).database
    assert database.url == "postgresql://u@h/db"
    assert database.overridden == ("DB_NAME", "DB_PASSWORD")


def test_database_url_wins_and_per_type_cooldowns_and_quiet_hours_are_read():
    settings = load_settings(
        {
            "DATABASE_URL": "postgresql://u@h/db",
            "DB_HOST": "ignored",
            "ALERT_COOLDOWN_SECONDS": "60",
            "ALERT_COOLDOWN_KALSHI_PRICE": "900",
            "QUIET_HOURS": "23:30-07:00",
            "TELEGRAM_CHAT_ID": "1, -1002",
        }
    )
    assert settings.database.url == "postgresql://u@h/db"
    assert settings.cooldowns["score"] == 60 and settings.cooldowns["kalshi_price"] == 900
    assert settings.quiet_hours == (time(23, 30), time(7, 0))
    assert settings.telegram_chat_ids == ("1", "-1002")


def test_edge_alert_settings_and_the_policy_keeps_the_edge_cooldown():
    assert (load_settings({}).edge_alert_points, load_settings({}).cooldowns["edge"]) == (15.0, 900)
    settings = load_settings(
        {"EDGE_ALERT_POINTS": "12.5", "EDGE_ALERT_COOLDOWN": "600", "ALERT_COOLDOWN_SECONDS": "60"}
    )
    assert (settings.edge_alert_points, settings.edge_alert_cooldown, settings.cooldowns["edge"]) == (12.5, 600.0, 600)


def test_overrides_win_over_the_environment_and_are_validated_like_it():
    settings = load_settings(
        {"PRICE_SPIKE_PCT": "10", "ALERT_COOLDOWN_SECONDS": "60"},
        overrides=parse_overrides(["PRICE_SPIKE_PCT=8", "ALERT_COOLDOWN_KALSHI_PRICE=0"]),
    )
    assert settings.price_spike_pct == 8.0
    assert settings.cooldowns["kalshi_price"] == 0 and settings.cooldowns["score"] == 60
    assert settings.overrides == {"PRICE_SPIKE_PCT": "8", "ALERT_COOLDOWN_KALSHI_PRICE": "0"}
    assert load_settings({"PRICE_SPIKE_PCT": "10"}).overrides == {}
    assert parse_overrides(["QUIET_HOURS=23:00-07:00", "TELEGRAM_CHAT_ID=a=b"])["TELEGRAM_CHAT_ID"] == "a=b"
    with pytest.raises(ConfigError, match="PRICE_SPIKE_PCT must be a finite number, got 'inf'"):
        load_settings({}, overrides={"PRICE_SPIKE_PCT": "inf"})
    with pytest.raises(ConfigError, match=r"PRICE_SPIKE is not a setting this configuration reads"):
        load_settings({}, overrides={"PRICE_SPIKE": "8"})
    # Any DB_* setting selects a configured server, one given by --set too.
    assert (
        load_settings({}, overrides={"DB_PORT": "5433"}).database.url == "postgresql://postgres@localhost:5433/magnus"
    )
    assert (
        load_settings({"DB_HOST": "h"}, overrides={"DB_PORT": "5433"}).database.url
        == "postgresql://postgres@h:5433/magnus"
    )
    with pytest.raises(ConfigError, match="DB_NAME has no effect: DATABASE_URL is set"):
        load_settings({"DATABASE_URL": "postgresql://u@prod/magnus"}, overrides={"DB_NAME": "scratch"})
    with pytest.raises(ConfigError, match="--set takes KEY=VALUE"):
        parse_overrides(["=8"])


@pytest.mark.parametrize(
    "env, message",
    [
        ({"DB_HOST": "h", "DB_PORT": "five"}, "DB_PORT must be a number"),
        ({"DB_HOST": "h", "DB_PORT": "70000"}, "DB_PORT must be between 1 and 65535"),
        ({"SYNC_INTERVAL": "-5"}, "SYNC_INTERVAL must be > 0"),
        ({"IDLE_POLL_INTERVAL": "0"}, "IDLE_POLL_INTERVAL must be > 0"),
        ({"TIMEZONE": "Mars/Olympus_Mons"}, "TIMEZONE must be an IANA time zone"),
        ({"DAILY_ALERT_LIMIT": "lots"}, "DAILY_ALERT_LIMIT must be a number"),
        ({"TELEGRAM_ENABLED": "maybe"}, "TELEGRAM_ENABLED must be true or false"),
        ({"QUIET_HOURS": "late"}, "QUIET_HOURS must look like 23:00-07:00"),
        ({"KALSHI_BASE_URL": "ftp://x"}, "KALSHI_BASE_URL must be an http(s) URL"),
        ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL must start with postgresql://"),
        ({"DB_POOL_MIN": "5", "DB_POOL_MAX": "4"}, "DB_POOL_MAX must be >= DB_POOL_MIN"),
        ({"DB_POOL_MAX": "2"}, "DB_POOL_MAX"),
        ({"PRICE_SPIKE_MIN_CENTS": "-1"}, "PRICE_SPIKE_MIN_CENTS must be >= 0"),
        ({"EDGE_ALERT_POINTS": "0"}, "EDGE_ALERT_POINTS must be > 0"),
        ({"EDGE_ALERT_COOLDOWN": "0"}, "EDGE_ALERT_COOLDOWN must be > 0"),
        ({"EDGE_ALERT_POINTS": "150"}, "EDGE_ALERT_POINTS must be at most 100"),
    ],
)
def test_each_bad_value_names_its_variable(env, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_settings(env)


class _Asked(dict):
    """An environment that remembers every variable the settings asked for."""

    def __init__(self, values):
        super().__init__(values)
        self.asked: set[str] = set()

    def get(self, key, default=None):
        self.asked.add(key)
        return super().get(key, default)


def _numeric_variables() -> list[str]:
    """Every variable the settings read as a number (those that refuse a word)."""
    env = _Asked({"DB_HOST": "h"})
    load_settings(env)
    numeric = []
    for name in sorted(env.asked):
        try:
            load_settings({"DB_HOST": "h", name: "abc"})
        except ConfigError as error:
            if "must be a number" in str(error):
                numeric.append(name)
    return numeric


def test_every_number_refuses_nan_and_infinity():
    names = _numeric_variables()
    assert {"SYNC_INTERVAL", "HTTP_TIMEOUT", "DB_PORT", "METRICS_PORT", "PRICE_RETENTION_DAYS"} <= set(names)
    for name in names:
        for value in ("nan", "NaN", "inf", "-inf", "Infinity"):
            with pytest.raises(ConfigError, match=f"{name} must be a (finite )?number, got '{value}'"):
                load_settings({"DB_HOST": "h", name: value})


def test_env_file_readable_by_others_is_reported(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("TELEGRAM_BOT_TOKEN=123456:SECRET\n")
    env_file.chmod(0o644)
    warning = env_file_exposure(env_file)
    assert warning is not None and "mode 0644" in warning and f"chmod 600 {env_file}" in warning
    assert "SECRET" not in warning
    env_file.chmod(0o600)
    assert env_file_exposure(env_file) is None
    assert env_file_exposure(None) is None


def test_secret_values_are_not_echoed_in_errors_or_repr():
    settings = load_settings({"TELEGRAM_BOT_TOKEN": "123456:SECRET-TOKEN"})
    assert "SECRET-TOKEN" not in repr(settings)


@pytest.mark.parametrize(
    "script, setting, line",
    [
        ("src/nfl_db_manager.py", ("DB_PORT", "not-a-port"), "DB_PORT must be a number, got 'not-a-port'"),
        ("src/nfl_realtime_sync.py", ("DB_PORT", "not-a-port"), "DB_PORT must be a number, got 'not-a-port'"),
        ("src/nfl_realtime_sync.py", ("SYNC_INTERVAL", "nan"), "SYNC_INTERVAL must be a finite number, got 'nan'"),
    ],
)
def test_bad_value_stops_start_up_with_one_line_and_status_2(script, setting, line, tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        "DB_HOST": "localhost",
        "DB_PASSWORD": "hunter2",
        "HOME": str(tmp_path),
        setting[0]: setting[1],
    }
    result = subprocess.run(
        [sys.executable, script, "--once"] if "sync" in script else [sys.executable, script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == [f"configuration error: {line}"]
    assert "hunter2" not in result.stderr + result.stdout


def test_recording_is_off_unless_a_folder_is_given(tmp_path):
    """RECORD_DIR (or --record, which cli.run puts there): a relative folder is the project's."""
    from nfl_sync.cli import parse_args

    assert load_settings({}).record_dir is None
    assert load_settings({"RECORD_DIR": "data/recordings"}).record_dir == ROOT / "data" / "recordings"
    assert load_settings({"RECORD_DIR": str(tmp_path)}).record_dir == tmp_path
    assert parse_args(["--record", "sunday"]).record == Path("sunday")
    assert parse_args(["run", "--record", "sunday"]).record == Path("sunday")
    assert parse_args([]).record is None
