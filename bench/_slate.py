"""Shared helpers of the replay benchmarks (bench/replay_*.py): a slate of recorded games, and the
settings and the throwaway database a benchmark run uses.

A slate repeats the two recorded games under distinct event ids. To be a real slate (every
game live at once, like a Sunday afternoon) the copies kick off within minutes of each other on
one day, so each copy is also given two teams of its own: the 16 copies use the 32 teams once
each, which keeps every Kalshi event ticker (date + teams) unique and the ESPN documents
consistent (team ids, abbreviations in possession texts, the venue).
"""

from __future__ import annotations

import atexit
import contextlib
import copy
import os
import re
import shutil
import tempfile
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from nfl_replay.timeline import GameTimeline, load_game
from nfl_sync.config import Settings, load_settings
from nfl_sync.domain import teams

ROOT = Path(__file__).resolve().parent.parent

RECORDINGS = (
    ROOT / "tests" / "fixtures" / "espn" / "summary_401547417.json",
    ROOT / "tests" / "fixtures" / "espn" / "cdn_game_401547602.json",
)
SLATE_GAMES = 16
# A bot token of the right shape for the fake Bot API (never a real one) and the chat it serves.
FAKE_TOKEN = "123456789:AAHbench-Token-Not-A-Real-One_0123456"
FAKE_CHAT = "100000001"


# --- the slate -----------------------------------------------------------------------------------


def recordings() -> list[GameTimeline]:
    return [load_game(path) for path in RECORDINGS]


def slate(
    games: int = SLATE_GAMES, stagger: timedelta = timedelta(minutes=1), kickoff: datetime | None = None
) -> list[GameTimeline]:
    """`games` copies of the recordings (alternating), copy i kicking off `i * stagger` after
    `kickoff` (default: the first recording's kickoff), each with two teams of its own."""
    pool = teams.all_teams()
    if games * 2 > len(pool):
        raise ValueError(f"a slate of {games} games needs {games * 2} teams; there are {len(pool)}")
    recorded = recordings()
    kickoff = kickoff or recorded[0].kickoff
    return [
        retarget(
            recorded[i % len(recorded)], f"9{i + 1:08d}", kickoff + i * stagger, home=pool[2 * i], away=pool[2 * i + 1]
        )
        for i in range(games)
    ]


def retarget(game: GameTimeline, new_id: str, kickoff: datetime, home: teams.Team, away: teams.Team) -> GameTimeline:
    """`game` under event id `new_id`, kicking off at `kickoff`, played by `home` and `away`."""
    moved = game.with_id(new_id, kickoff - game.kickoff)
    source = copy.deepcopy(moved.source)  # with_id's copy is shared with `moved`; keep it pristine
    swap = {str(game.home_team["id"]): home, str(game.away_team["id"]): away}
    _rename_teams(
        source, swap, {str(game.home_team["abbreviation"]): home.abbr, str(game.away_team["abbreviation"]): away.abbr}
    )
    venue = source.get("gameInfo", {}).get("venue")
    if venue is not None and home.venue_id:
        venue["id"], venue["fullName"] = home.venue_id, home.stadium
    return GameTimeline(source)


def _team_fields(team: teams.Team) -> dict[str, str]:
    location = (
        team.name[: -len(team.nickname)].strip() if team.nickname and team.name.endswith(team.nickname) else team.name
    )
    return {
        "id": team.espn_id,
        "uid": f"s:20~l:28~t:{team.espn_id}",
        "abbreviation": team.abbr,
        "displayName": team.name,
        "shortDisplayName": team.nickname or team.name,
        "name": team.nickname or team.name,
        "location": location,
    }


def _rename_teams(node: Any, by_id: Mapping[str, teams.Team], by_abbr: Mapping[str, str]) -> None:
    """Rewrite, in place, the team objects and team ids of the old teams (`by_id`) and the
    abbreviations in texts ("1st & 10 at ATL 35"), all old names in one pass."""
    words = re.compile(r"\b(" + "|".join(map(re.escape, by_abbr)) + r")\b")

    def text(value: str) -> str:
        return words.sub(lambda match: by_abbr[match.group(1)], value)

    def walk(node: Any, key: str | None) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item, key)
            return
        if not isinstance(node, dict):
            return
        team_id = str(node.get("id", ""))
        renamed: Mapping[str, str] = {}
        if key == "team" and team_id in by_id:
            fields = _team_fields(by_id[team_id])
            renamed = {name: value for name, value in fields.items() if name in node or name == "id"}
            node.update(renamed)
        elif "homeAway" in node and team_id in by_id:  # a competitor: its id is its team's
            node["id"] = by_id[team_id].espn_id
        for name, value in node.items():
            if name in renamed:
                continue
            if name == "teamId" and str(value) in by_id:
                node[name] = by_id[str(value)].espn_id
            elif isinstance(value, str) and name != "id":
                node[name] = text(value)
            else:
                walk(value, name)

    walk(node, None)


# --- settings and database ---------------------------------------------------------------------


def settings(env: Mapping[str, str] | None = None) -> Settings:
    """Defaults of the daemon (never the project's .env), Telegram off unless `env` says otherwise,
    logs in a temporary folder."""
    values = {"TELEGRAM_ENABLED": "false", "LOG_DIR": temp_dir("bench-logs-"), "LOG_LEVEL": "INFO"}
    values.update(env or {})
    return load_settings(values)


def temp_dir(prefix: str) -> str:
    """A temporary folder removed at exit (after the embedded server in it has stopped: atexit
    runs in reverse order, and pgserver registers its stop after this)."""
    path = tempfile.mkdtemp(prefix=prefix)
    atexit.register(shutil.rmtree, path, True)
    return path


def embedded_database(name: str = "bench") -> str:
    """A libpq URL to a database on a throwaway embedded PostgreSQL."""
    from nfl_sync.storage.embedded import start_embedded

    return start_embedded(Path(temp_dir("bench-pg-")), name)


def postgres_cpu_seconds(url: str) -> float:
    """CPU seconds used so far by the PostgreSQL server behind `url` (the postmaster, its live
    children and the children it has reaped), read from /proc; 0 where that cannot be read."""
    import psycopg2

    try:
        with contextlib.closing(psycopg2.connect(url)) as conn, conn.cursor() as cur:
            cur.execute("SELECT pg_backend_pid(), current_setting('data_directory')")
            _, data_dir = cur.fetchone()
        postmaster = int(Path(data_dir, "postmaster.pid").read_text().split()[0])
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError):
                fields = stat.read_text().rpartition(")")[2].split()
                pid, ppid = int(stat.parent.name), int(fields[1])
                if pid == postmaster:
                    total += sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
                elif ppid == postmaster:
                    total += int(fields[11]) + int(fields[12])
        return total / ticks
    except Exception:
        return 0.0


def configure_logging(settings: Settings) -> Path:
    """As the daemon logs (INFO to its rotating file), without the console."""
    from nfl_sync.logging_setup import configure_logging as configure

    return configure(settings.log_level, settings.log_dir, console=False)
