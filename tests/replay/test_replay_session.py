"""`--record` then `--replay` of the recording: the server answers each request with the response
that arrived last at or before the simulated now (error pages and cut-off bodies as they were),
finished summaries mix in, and a daemon recorded live against the fake servers replays from its
recording to the same plays and alerts."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta

import orjson
import pytest

from helpers import empty_tables, replay_daemon_settings
from nfl_replay.clock import SimulatedClock
from nfl_replay.runner import ReplayEnvironment
from nfl_replay.session import RecordedSession, SessionServer
from nfl_replay.session_replay import SessionReplayEnvironment
from nfl_sync.app import close_sync
from nfl_sync.sources.recorder import Exchange, ResponseRecorder, read_folder

pytest.register_assert_rewrite("e2e_support")

from e2e_support import daemon, drained, query, start_daemon  # noqa: E402

pytest_plugins = ["replay_support"]

HTML_503 = b"<html><head><title>503 Service Temporarily Unavailable</title></head></html>"
CUT_OFF = b'{"leagues":[],"events":[{"id":"40'
LIVE_WINDOW = timedelta(minutes=35)  # of GB @ ATL: its first quarter, with scores


def write(folder, exchanges: list[Exchange]) -> None:
    recorder = ResponseRecorder(folder, queue_size=len(exchanges) + 1)  # no drop: the test writes at once
    for exchange in exchanges:
        recorder.record(exchange)
    recorder.close()


def scoreboard(at, body: bytes, status: int = 200, content_type: str = "application/json") -> Exchange:
    """A scoreboard answer of GB @ ATL's day (Sunday 17 September 2023)."""
    return Exchange(at, "espn", "GET", "scoreboard", (("dates", "20230917"),), status, content_type, body)


@pytest.fixture
def recorded(tmp_path, gb_atl):
    """A scoreboard that answers, then an HTML 503, then a cut-off body; and one Kalshi page."""
    t0 = gb_atl.kickoff
    good = orjson.dumps({"leagues": [], "events": [{"id": "1"}]})
    markets = Exchange(
        t0,
        "kalshi",
        "GET",
        "markets",
        (("series_ticker", "KXNFLGAME"), ("status", "open"), ("limit", "1000")),
        200,
        "application/json",
        b'{"markets":[],"cursor":""}',
    )
    write(
        tmp_path / "rec",
        [
            scoreboard(t0, good),
            markets,
            scoreboard(t0 + timedelta(seconds=5), HTML_503, 503, "text/html"),
            scoreboard(t0 + timedelta(seconds=10), CUT_OFF),
        ],
    )
    return tmp_path / "rec", t0, good


def test_each_request_gets_the_last_response_arrived_by_now(recorded, session):
    folder, t0, good = recorded
    clock = SimulatedClock(t0 - timedelta(seconds=1))
    with SessionServer(RecordedSession.load([folder]), clock) as server:
        board = f"{server.base_url_of('espn')}/scoreboard?dates=20230917"

        def get(url):
            response = session.get(url)
            return response.status_code, response.headers["Content-Type"], response.content

        assert get(board) == (200, "application/json; charset=utf-8", b'{"leagues":[],"events":[]}')  # before
        assert get(f"{server.base_url_of('espn')}/summary?event=1")[0] == 404
        clock.set(t0 + timedelta(seconds=4))
        assert get(board) == (200, "application/json", good)
        clock.set(t0 + timedelta(seconds=5))
        assert get(board) == (503, "text/html", HTML_503)
        clock.set(t0 + timedelta(seconds=60))
        assert get(board) == (200, "application/json", CUT_OFF)
        # The query's order does not matter; a request never recorded is Kalshi's 404.
        kalshi = server.base_url_of("kalshi")
        page = get(f"{kalshi}/markets?limit=1000&status=open&series_ticker=KXNFLGAME")
        assert page == (200, "application/json", b'{"markets":[],"cursor":""}')
        assert get(f"{kalshi}/markets?limit=1000&status=open&series_ticker=KXNFLSPREAD")[0] == 404


def test_finished_summaries_join_the_recorded_scoreboard_of_their_date(recorded, session, gb_atl):
    folder, t0, _ = recorded
    env = SessionReplayEnvironment([folder], [gb_atl])
    assert env.clock.now() == gb_atl.kickoff - timedelta(minutes=2)  # the earlier of the two
    with env:
        espn = env.server.base_url_of("espn")
        env.clock.set(t0 + timedelta(seconds=1))
        events = session.get(f"{espn}/scoreboard?dates={gb_atl.eastern_date:%Y%m%d}").json()["events"]
        assert [e["id"] for e in events] == ["1", gb_atl.game_id]
        assert session.get(f"{espn}/scoreboard?dates=20231008").json()["events"] == []
        summary = session.get(f"{espn}/summary?event={gb_atl.game_id}")
        assert summary.content == gb_atl.summary_json(env.clock.now())
    assert env.game_ids == [gb_atl.game_id]  # the recorded scoreboard's game never started


def plays_and_alerts(db) -> tuple[list, list]:
    plays = query(db, "SELECT game_id, play_id, text, away_score, home_score FROM nfl_plays ORDER BY game_id, play_id")
    alerts = query(db, "SELECT alert_key, alert_type, message FROM nfl_alert_history ORDER BY alert_key")
    return [tuple(r.values()) for r in plays], [tuple(r.values()) for r in alerts]


def replay_recording(folder, telegram, database_url, log_dir):
    """The daemon on an empty database against `folder` served back, until the replay is over."""
    empty_tables(database_url)
    with SessionReplayEnvironment([folder]) as env:
        settings = env.settings(
            replay_daemon_settings(env.server.base_url_of("espn"), "http://unused", telegram.api_base_url, log_dir)
        )
        sync = daemon(settings, env.clock, database_url)
        try:
            sync.run_forever(until=lambda: env.finished(sync))
        finally:
            close_sync(sync)
        return env


def damaged(folder, into):
    """The recording with two of its scoreboard answers replaced: an HTML 503 and a cut-off body."""
    exchanges = list(read_folder(folder))
    polls = [i for i, e in enumerate(exchanges) if e.source == "espn" and e.path == "scoreboard"]
    for index, body, status, kind in ((polls[100], HTML_503, 503, "text/html"), (polls[200], CUT_OFF, 200, None)):
        exchanges[index] = replace(
            exchanges[index], body=body, status=status, content_type=kind or exchanges[index].content_type
        )
    write(into, exchanges)


@pytest.mark.e2e
def test_a_recorded_live_run_replays_to_the_same_plays_and_alerts(db, database_url, telegram, tmp_path, caplog, gb_atl):
    """GB @ ATL's first 35 minutes live against the fake servers with --record; its recording
    replayed into an empty database gives the same plays and alerts, and so does a copy with an
    HTML 503 and a cut-off scoreboard in it, which the daemon logs and goes past."""
    folder = tmp_path / "recording"
    with ReplayEnvironment([gb_atl]) as env:
        until = env.games[0].kickoff + LIVE_WINDOW
        sync = start_daemon(env, telegram, database_url, tmp_path, record_dir=folder)
        try:
            sync.run_forever(until=lambda: env.clock.now() >= until and drained(sync))
        finally:
            close_sync(sync)
    live_plays, live_alerts = plays_and_alerts(db)
    assert len(live_plays) >= 30 and any(key.startswith("score:") for key, _, _ in live_alerts)
    recorded = list(read_folder(folder))
    assert {e.source for e in recorded} == {"espn", "kalshi"}
    assert recorded[0].at == env.games[0].kickoff - timedelta(minutes=2)

    env = replay_recording(folder, telegram, database_url, tmp_path)
    assert env.clock.now() >= recorded[-1].at  # the game was not over: the recording's end ended it
    assert plays_and_alerts(db) == (live_plays, live_alerts)

    damaged(folder, tmp_path / "damaged")
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        replay_recording(tmp_path / "damaged", telegram, database_url, tmp_path)
    assert "scoreboard: server error (HTTP 503" in caplog.text
    assert "returned invalid JSON" in caplog.text
    plays, alerts = plays_and_alerts(db)
    assert plays == live_plays
    assert [a[0] for a in alerts] == [a[0] for a in live_alerts]
