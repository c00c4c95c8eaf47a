"""Games and what happens in them: games, plays, win probability, box scores, injuries, weather, odds.

Every write is an idempotent upsert keyed on the row's natural key. Plays arrive through COPY into
a temporary table and one merge, the fastest way into PostgreSQL, and ESPN's later edits of a play
update its row while a repeat of the same play changes nothing.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import fields
from datetime import date, datetime
from typing import Any

import psycopg2.extras
from psycopg2.extras import RealDictCursor, RealDictRow

from nfl_sync.domain.models import Game, Injury, OddsLine, Play, PlayerStat, Weather, WinProbability
from nfl_sync.storage.sql import execute_values, one


def _game_row(g: Game) -> tuple:
    return (
        g.game_id,
        g.season,
        g.season_type,
        g.week,
        g.start_time,
        g.home_team,
        g.away_team,
        g.home_team_id,
        g.away_team_id,
        g.home_score,
        g.away_score,
        g.status,
        g.state,
        g.phase,
        g.period,
        g.clock,
        g.possession,
        g.down,
        g.distance,
        g.yard_line,
        g.is_live,
        g.venue_id,
        g.venue_name,
        g.venue_city,
        g.venue_state,
        g.venue_indoor,
        g.neutral_site,
        g.last_play_id,
        g.last_play_text,
        g.home_win_pct,
    )


_GAME_COLUMNS = [
    "game_id",
    "season",
    "season_type",
    "week",
    "start_time",
    "home_team",
    "away_team",
    "home_team_id",
    "away_team_id",
    "home_score",
    "away_score",
    "status",
    "state",
    "phase",
    "period",
    "clock",
    "possession",
    "down",
    "distance",
    "yard_line",
    "is_live",
    "venue_id",
    "venue_name",
    "venue_city",
    "venue_state",
    "venue_indoor",
    "neutral_site",
    "last_play_id",
    "last_play_text",
    "home_win_pct",
]
# A final stays final: late or stale scoreboard responses must not revive it. (A canceled or
# postponed game is not final: it may be played after all.)
_FINAL = "nfl_games.phase IN ('final', 'final_ot')"
_GAME_STICKY = {
    "status": f"CASE WHEN {_FINAL} THEN nfl_games.status ELSE EXCLUDED.status END",
    "state": f"CASE WHEN {_FINAL} THEN nfl_games.state ELSE EXCLUDED.state END",
    "phase": f"CASE WHEN {_FINAL} THEN nfl_games.phase ELSE EXCLUDED.phase END",
    "is_live": f"CASE WHEN {_FINAL} THEN false ELSE EXCLUDED.is_live END",
}
_UPSERT_GAMES = (
    f"INSERT INTO nfl_games ({', '.join(_GAME_COLUMNS)}) VALUES %s "
    "ON CONFLICT (game_id) DO UPDATE SET "
    + ", ".join(f"{c} = {_GAME_STICKY.get(c, f'COALESCE(EXCLUDED.{c}, nfl_games.{c})')}" for c in _GAME_COLUMNS[1:])
    + ", last_updated = now()"
)

_PLAY_COLUMNS = [
    "game_id",
    "play_id",
    "sequence_number",
    "period",
    "clock",
    "type",
    "text",
    "yards",
    "team",
    "scoring_play",
    "score_value",
    "scoring_type",
    "home_score",
    "away_score",
    "is_turnover",
    "significance",
    "drive_id",
    "down",
    "distance",
    "yard_line",
    "wallclock",
]
_PLAY_MUTABLE = [c for c in _PLAY_COLUMNS if c not in ("game_id", "play_id")]
# Plays arrive through COPY into a temporary table (the fastest way into PostgreSQL), then one
# upsert: ESPN edits plays after the fact (text, yards, sequence), so an edit updates the row while
# a repeat of the same play changes nothing; a play marked deleted that ESPN lists again lives again.
_STAGE_PLAYS = (
    "CREATE TEMP TABLE IF NOT EXISTS nfl_plays_stage (LIKE nfl_plays INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
)
_MERGE_PLAYS = (
    "WITH merged AS ("
    f"INSERT INTO nfl_plays ({', '.join(_PLAY_COLUMNS)}) "
    f"SELECT {', '.join(_PLAY_COLUMNS)} FROM nfl_plays_stage "
    "ON CONFLICT (game_id, play_id) DO UPDATE SET "
    + ", ".join(f"{c} = EXCLUDED.{c}" for c in _PLAY_MUTABLE)
    + ", deleted_at = NULL"
    + f" WHERE ({', '.join('nfl_plays.' + c for c in _PLAY_MUTABLE)}) IS DISTINCT FROM "
    f"({', '.join('EXCLUDED.' + c for c in _PLAY_MUTABLE)}) OR nfl_plays.deleted_at IS NOT NULL "
    # xmax is 0 on a freshly inserted row version and set on an updated one.
    "RETURNING xmax) SELECT count(*) FILTER (WHERE xmax::text = '0') AS n FROM merged"
)


def _array_literal(values: Sequence[str]) -> str:
    return "{" + ",".join('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values) + "}"


def _play_row(p: Play, array: Callable[[Sequence[str]], Any] = list) -> tuple:
    return (
        p.game_id,
        p.play_id,
        p.sequence_number,
        p.period,
        p.clock,
        p.type,
        p.text,
        p.yards,
        p.team,
        p.scoring_play,
        p.score_value,
        p.scoring_type,
        p.home_score,
        p.away_score,
        p.is_turnover,
        array(p.significance),
        p.drive_id,
        p.down,
        p.distance,
        p.yard_line,
        p.wallclock,
    )


class GameRepository:
    """The games-and-plays family of tables, inside one transaction (`tx.games`)."""

    def __init__(self, cur: RealDictCursor):
        self.cur = cur

    def upsert_game(self, game: Game) -> None:
        self.upsert_games([game])

    def upsert_games(self, games: Iterable[Game]) -> int:
        rows = [_game_row(g) for g in games]
        execute_values(self.cur, _UPSERT_GAMES, rows)
        return len(rows)

    def insert_plays(self, plays: Iterable[Play]) -> int:
        """Store plays idempotently; returns how many were new."""
        # One row per play: ON CONFLICT cannot touch the same row twice in one statement.
        unique = {(p.game_id, p.play_id): p for p in plays}
        if not unique:
            return 0
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerows(_play_row(p, array=_array_literal) for p in unique.values())
        # PostgreSQL's text holds no NUL, and one would fail the game's transaction on every try.
        # Decoding drops NUL from what comes over HTTP; one scan of the batch covers the rest.
        rows = io.StringIO(buffer.getvalue().replace("\x00", ""))
        self.cur.execute(_STAGE_PLAYS)
        self.cur.copy_expert(f"COPY nfl_plays_stage ({', '.join(_PLAY_COLUMNS)}) FROM STDIN WITH (FORMAT csv)", rows)
        self.cur.execute(_MERGE_PLAYS)
        new = one(self.cur)["n"]
        # Emptied now so that a second call in this transaction does not merge these rows again.
        # DELETE, not TRUNCATE: a TRUNCATE costs the server a millisecond of catalog work, and
        # the dead rows go at commit anyway, when ON COMMIT DELETE ROWS empties the table.
        self.cur.execute("DELETE FROM nfl_plays_stage")
        return new

    def mark_plays_deleted(self, game_id: str, play_ids: Iterable[str], now: datetime) -> int:
        """Mark plays ESPN no longer lists (kept for history, left out of views); returns how many."""
        ids = list(play_ids)
        if not ids:
            return 0
        self.cur.execute(
            "UPDATE nfl_plays SET deleted_at = %s WHERE game_id = %s AND play_id = ANY(%s) AND deleted_at IS NULL",
            (now, game_id, ids),
        )
        return int(self.cur.rowcount)

    def _existing(self, table: str, columns: tuple[str, ...], keys: list[tuple]) -> set[tuple]:
        """Which of `keys` (values of `columns`) already have a row in `table`."""
        if not keys:
            return set()
        names = ", ".join(columns)
        found = execute_values(
            self.cur,
            f"SELECT {', '.join('t.' + c for c in columns)} FROM {table} t "
            f"JOIN (VALUES %s) AS v({names}) USING ({names})",
            keys,
            fetch=True,
        )
        return {tuple(row.values()) for row in found}

    def insert_win_probabilities(self, probabilities: Iterable[WinProbability]) -> int:
        rows = [(w.game_id, w.play_id, w.home_win_pct, w.tie_pct) for w in probabilities]
        # Only plays we stored can carry a probability (ESPN's first entry names a drive).
        execute_values(
            self.cur,
            "INSERT INTO nfl_win_probability (game_id, play_id, home_win_pct, tie_pct) "
            "SELECT v.game_id, v.play_id, v.home_win_pct::numeric, v.tie_pct::numeric "
            "FROM (VALUES %s) AS v(game_id, play_id, home_win_pct, tie_pct) "
            "JOIN nfl_plays p ON p.game_id = v.game_id AND p.play_id = v.play_id "
            "ON CONFLICT (game_id, play_id) DO UPDATE SET home_win_pct = EXCLUDED.home_win_pct, "
            "tie_pct = EXCLUDED.tie_pct",
            rows,
        )
        return len(rows)

    def upsert_player_stats(self, stats: Iterable[PlayerStat], seen_at: datetime) -> int:
        """The box score as of `seen_at` (each row's `updated_at`)."""
        rows = [
            (s.game_id, s.player_id, s.category, s.player, s.team, psycopg2.extras.Json(dict(s.stats)), seen_at)
            for s in stats
        ]
        execute_values(
            self.cur,
            "INSERT INTO nfl_player_stats (game_id, player_id, category, player, team, stats, updated_at) "
            "VALUES %s ON CONFLICT (game_id, player_id, category) DO UPDATE SET player = EXCLUDED.player, "
            "team = EXCLUDED.team, stats = EXCLUDED.stats, updated_at = EXCLUDED.updated_at",
            rows,
        )
        return len(rows)

    def game(self, game_id: str) -> RealDictRow | None:
        self.cur.execute("SELECT * FROM nfl_games WHERE game_id = %s", (game_id,))
        return self.cur.fetchone()

    def plays(self, game_id: str) -> list[RealDictRow]:
        self.cur.execute("SELECT * FROM nfl_plays WHERE game_id = %s ORDER BY sequence_number", (game_id,))
        return self.cur.fetchall()

    def unseen_injuries(self, injuries: Iterable[Injury], seen_at: datetime) -> list[Injury]:
        """The reports `upsert_injuries` would store as new (player+status+date not stored yet)."""
        injuries = _one_report_per_key(injuries, seen_at)
        keys = [_injury_key(i, seen_at) for i in injuries]
        known = self._existing("nfl_injuries", ("player_key", "status", "report_date"), keys)
        return [i for i, key in zip(injuries, keys, strict=True) if key not in known]

    def injury_statuses(self, player_keys: Iterable[str]) -> dict[str, str]:
        """Each player's latest stored status (of the newest report date), by player key."""
        self.cur.execute(
            "SELECT DISTINCT ON (player_key) player_key, status FROM nfl_injuries WHERE player_key = ANY(%s) "
            "ORDER BY player_key, report_date DESC, last_seen_at DESC",
            (sorted(set(player_keys)),),
        )
        return {row["player_key"]: row["status"] for row in self.cur.fetchall()}

    def upsert_injuries(self, injuries: Iterable[Injury], seen_at: datetime) -> list[Injury]:
        """Store injury reports; returns the ones not seen before (new player+status+date)."""
        injuries = _one_report_per_key(injuries, seen_at)
        rows = [
            (
                i.player_key,
                i.player_id,
                i.player,
                i.team,
                i.position,
                i.status,
                i.injury,
                i.reported_at,
                (i.reported_at or seen_at).date(),
                i.return_date,
                i.game_id,
                seen_at,
                seen_at,
            )
            for i in injuries
        ]
        keys = [_injury_key(i, seen_at) for i in injuries]
        known = self._existing("nfl_injuries", ("player_key", "status", "report_date"), keys)
        execute_values(
            self.cur,
            "INSERT INTO nfl_injuries (player_key, player_id, player, team, position, status, injury, "
            "reported_at, report_date, return_date, game_id, first_seen_at, last_seen_at) "
            "SELECT v.player_key, v.player_id, v.player, v.team, v.position, v.status, v.injury, "
            "v.reported_at::timestamptz, v.report_date::date, v.return_date, g.game_id, "
            "v.first_seen_at::timestamptz, v.last_seen_at::timestamptz "
            "FROM (VALUES %s) AS v(player_key, player_id, player, team, position, status, injury, "
            "reported_at, report_date, return_date, game_id, first_seen_at, last_seen_at) "
            "LEFT JOIN nfl_games g ON g.game_id = v.game_id "
            "ON CONFLICT (player_key, status, report_date) DO UPDATE SET last_seen_at = EXCLUDED.last_seen_at, "
            "injury = COALESCE(EXCLUDED.injury, nfl_injuries.injury), "
            "position = COALESCE(EXCLUDED.position, nfl_injuries.position)",
            rows,
        )
        return [i for i, key in zip(injuries, keys, strict=False) if key not in known]

    def upsert_weather(self, game_id: str, w: Weather) -> None:
        self.cur.execute(
            "INSERT INTO nfl_weather (game_id, source, forecast_time, temperature_f, wind_mph, gust_mph, "
            "precipitation_in, precipitation_probability, condition, roof) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (game_id, source) DO UPDATE SET forecast_time = EXCLUDED.forecast_time, "
            "temperature_f = EXCLUDED.temperature_f, wind_mph = EXCLUDED.wind_mph, gust_mph = EXCLUDED.gust_mph, "
            "precipitation_in = EXCLUDED.precipitation_in, "
            "precipitation_probability = EXCLUDED.precipitation_probability, "
            "condition = EXCLUDED.condition, roof = EXCLUDED.roof, fetched_at = now()",
            (
                game_id,
                w.source,
                w.forecast_time,
                w.temperature_f,
                w.wind_mph,
                w.gust_mph,
                w.precipitation_in,
                w.precipitation_probability,
                w.condition,
                w.roof,
            ),
        )

    def upsert_odds(self, lines: Iterable[OddsLine], seen_at: datetime) -> int:
        """The latest line per game and provider, and each market's change kept in
        nfl_odds_history (a repeat of the latest stored line writes nothing there)."""
        lines = [o for o in lines if o.game_id]
        rows = [
            (
                o.game_id,
                o.provider,
                o.home_team,
                o.away_team,
                o.commence_time,
                o.spread,
                o.over_under,
                o.home_moneyline,
                o.away_moneyline,
                o.details,
            )
            for o in lines
        ]
        execute_values(
            self.cur,
            "INSERT INTO nfl_odds (game_id, provider, home_team, away_team, commence_time, spread, "
            "over_under, home_moneyline, away_moneyline, details) "
            "SELECT v.game_id, v.provider, v.home_team, v.away_team, v.commence_time::timestamptz, "
            "v.spread::numeric, v.over_under::numeric, v.home_moneyline::integer, "
            "v.away_moneyline::integer, v.details FROM (VALUES %s) AS v(game_id, provider, home_team, "
            "away_team, commence_time, spread, over_under, home_moneyline, away_moneyline, details) "
            "JOIN nfl_games g ON g.game_id = v.game_id "
            "ON CONFLICT (game_id, provider) DO UPDATE SET spread = EXCLUDED.spread, "
            "over_under = EXCLUDED.over_under, home_moneyline = EXCLUDED.home_moneyline, "
            "away_moneyline = EXCLUDED.away_moneyline, details = EXCLUDED.details, updated_at = now()",
            rows,
        )
        self._odds_history(lines, seen_at)
        return len(rows)

    def _odds_history(self, lines: Sequence[OddsLine], seen_at: datetime) -> None:
        markets = [
            (o.game_id, o.provider, market, line, home, away, seen_at)
            for o in lines
            for market, line, home, away in (
                ("spread", o.spread, None, None),
                ("total", o.over_under, None, None),
                ("moneyline", None, o.home_moneyline, o.away_moneyline),
            )
            if line is not None or home is not None or away is not None
        ]
        # One row per market and provider: a line listed twice in one answer is one observation.
        markets = list({row[:3]: row for row in markets}.values())
        execute_values(
            self.cur,
            "INSERT INTO nfl_odds_history (game_id, provider, market, line, home_moneyline, away_moneyline, "
            "observed_at) SELECT v.game_id, v.provider, v.market, v.line::numeric, v.home::integer, "
            "v.away::integer, v.observed_at::timestamptz FROM (VALUES %s) AS v(game_id, provider, market, line, "
            "home, away, observed_at) JOIN nfl_games g ON g.game_id = v.game_id "
            "LEFT JOIN LATERAL (SELECT h.line, h.home_moneyline, h.away_moneyline FROM nfl_odds_history h "
            "WHERE h.game_id = v.game_id AND h.provider = v.provider AND h.market = v.market "
            "ORDER BY h.observed_at DESC LIMIT 1) latest ON true "
            "WHERE (latest.line, latest.home_moneyline, latest.away_moneyline) "
            "IS DISTINCT FROM (v.line::numeric, v.home::integer, v.away::integer) "
            "ON CONFLICT (game_id, provider, market, observed_at) DO NOTHING",
            markets,
        )


def _injury_key(injury: Injury, seen_at: datetime) -> tuple[str, str, date]:
    """nfl_injuries' natural key: player, status, and the report's date."""
    return injury.player_key, injury.status, (injury.reported_at or seen_at).date()


def _one_report_per_key(injuries: Iterable[Injury], seen_at: datetime) -> list[Injury]:
    """The last report of each key: ON CONFLICT cannot touch the same row twice in one statement."""
    return list({_injury_key(i, seen_at): i for i in injuries}.values())


def play_of_row(row: dict[str, Any]) -> Play:
    """A stored play back as the model (columns the model lacks are left out)."""
    values = {f.name: row[f.name] for f in fields(Play) if f.name in row}
    values["significance"] = tuple(row["significance"] or ())
    return Play(**values)
