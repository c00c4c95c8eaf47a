"""Whole sync cycles on a real database, with ESPN and Kalshi faked at the wire by `responses`.

The ESPN documents are the recorded GB @ ATL game (401547417) as ESPN served it at the fake
clock's time (rebuilt by the replay timeline); the Kalshi page is the recorded game-winner market
re-targeted at that game. Expectations are computed from the recorded plays, not from our output.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest
import responses

from helpers import FakeClock, fixture_json, fixture_path, rows
from nfl_replay.espn_server import league_injuries
from nfl_replay.timeline import load_game
from nfl_sync.app import build_sync, close_sync
from nfl_sync.config import load_settings
from nfl_sync.engine.report import CycleReport

ESPN = "http://espn.test/apis/site/v2/sports/football/nfl"
KALSHI = "http://kalshi.test/trade-api/v2"
OPEN_METEO = "http://open-meteo.test/v1"
GAME = "401547417"


class World:
    """The fake sources and the clock of one test; `tweak` edits the next scoreboard event."""

    def __init__(self, rsps: responses.RequestsMock):
        self.timeline = load_game(fixture_path("espn", f"summary_{GAME}.json"))
        self.clock = FakeClock(self.timeline.kickoff - timedelta(minutes=10))
        self.tweak = None
        self.more_events: list[dict] = []  # other games' scoreboard events, as given
        self.summary_tweak = None
        self.fail_schedule = False
        self.kalshi_status = 200
        self.listing = None  # edits the Kalshi listing (a list of market documents) when set
        self.listed = True  # whether the scoreboard lists the game
        self.market = fixture_json("kalshi", "get_market", "kalshi_market_KXNFLGAME-26OCT12BUFLAR-LAR.json")["market"]
        rsps.add_callback(responses.GET, re.compile(re.escape(ESPN) + r"/scoreboard.*"), self._scoreboard)
        rsps.add_callback(responses.GET, re.compile(re.escape(ESPN) + r"/summary.*"), self._summary)
        rsps.add_callback(responses.GET, re.compile(re.escape(ESPN) + r"/injuries.*"), self._injuries)
        rsps.add_callback(responses.GET, re.compile(re.escape(KALSHI) + r"/markets.*"), self._markets)
        rsps.add(
            responses.GET,
            re.compile(re.escape(OPEN_METEO) + r"/forecast.*"),
            json=fixture_json("weather", "openmeteo_forecast.json"),
        )
        self.rsps = rsps

    def calls(self, fragment: str) -> int:
        return sum(1 for call in self.rsps.calls if fragment in call.request.url)

    def _scoreboard(self, request):
        if self.fail_schedule and re.search(r"dates=\d{8}-\d{8}", request.url):
            return 503, {"Content-Type": "application/json"}, '{"error": "unavailable"}'
        event = self.timeline.scoreboard_event(self.clock.now())
        if self.tweak:
            event = self.tweak(copy.deepcopy(event))
        events = [event, *self.more_events] if self.listed else list(self.more_events)
        document = {"leagues": [], "season": {"type": 2, "year": 2023}, "week": {"number": 2}, "events": events}
        return 200, {"Content-Type": "application/json"}, json.dumps(document)

    def _summary(self, request):
        document = self.timeline.summary(self.clock.now())
        if self.summary_tweak:
            document = self.summary_tweak(copy.deepcopy(document))
        return 200, {"Content-Type": "application/json"}, json.dumps(document)

    def _injuries(self, request):
        return 200, {"Content-Type": "application/json"}, json.dumps({"injuries": league_injuries([self.timeline])})

    def _markets(self, request):
        if self.kalshi_status != 200:
            return self.kalshi_status, {"Content-Type": "application/json"}, '{"error": "internal"}'
        home = self.timeline.win_probability_at(self.clock.now())
        markets = [self._market("ATL", home), self._market("GB", 1 - home)]
        if self.listing:
            markets = self.listing(markets)
        return 200, {"Content-Type": "application/json"}, json.dumps({"markets": markets, "cursor": ""})

    def _market(self, team: str, probability: Decimal) -> dict:
        cents = max(2, min(97, int(probability * 100)))
        market = dict(self.market)
        market.update(
            ticker=f"KXNFLGAME-23SEP17GBATL-{team}",
            event_ticker="KXNFLGAME-23SEP17GBATL",
            yes_bid_dollars=f"{cents / 100:.4f}",
            yes_ask_dollars=f"{(cents + 1) / 100:.4f}",
            no_bid_dollars=f"{(99 - cents) / 100:.4f}",
            no_ask_dollars=f"{(100 - cents) / 100:.4f}",
            last_price_dollars=f"{cents / 100:.4f}",
            status="active",
        )
        return market

    # --- expectations from the recording --------------------------------------------------
    def plays_visible(self, t) -> list:
        return [p for p in self.timeline.plays if p.visible_at <= t]

    def score_changes(self, after, until) -> list[tuple[int, int]]:
        """(away, home) after each scoring change whose play became visible in (after, until]."""
        changes, last = [], (0, 0)
        for play in self.timeline.plays:
            score = (play.away_score, play.home_score)
            if score != last and after < play.visible_at <= until:
                changes.append(score)
            last = score
        return changes

    def time_after_score(self, n: int):
        """The moment just after the n-th scoring change becomes visible."""
        last, seen = (0, 0), 0
        for play in self.timeline.plays:
            score = (play.away_score, play.home_score)
            if score != last:
                seen += 1
                if seen == n:
                    return play.visible_at + timedelta(seconds=1)
            last = score
        raise AssertionError("not that many scores")


@pytest.fixture
def world():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield World(rsps)


def make_sync(db, world, **changes):
    settings = replace(
        load_settings({"TELEGRAM_ENABLED": "false"}),
        espn_base_url=ESPN,
        espn_core_base_url=ESPN,
        kalshi_base_url=KALSHI,
        open_meteo_base_url=OPEN_METEO,
        kalshi_series=("KXNFLGAME",),
        espn_rate_per_second=1000.0,
        espn_rate_per_minute=100000,
        kalshi_reads_per_second=1000.0,
        http_max_tries=1,
        **changes,
    )
    return build_sync(settings, clock=world.clock, db=db)


def alerts(db, alert_type=None):
    rows = db.run(lambda tx: (tx.cur.execute("SELECT * FROM nfl_alert_history ORDER BY id"), tx.cur.fetchall())[1])
    return [r for r in rows if alert_type is None or r["alert_type"] == alert_type]


def stored_plays(db) -> int:
    return len(db.run(lambda tx: tx.games.plays(GAME)))


def player_stat_rows(db) -> int:
    return db.run(lambda tx: (tx.cur.execute("SELECT count(*) AS n FROM nfl_player_stats"), tx.cur.fetchone())[1])["n"]


def at(world, moment):
    world.clock.set_now(moment)


def test_score_change_yields_one_alert_and_the_new_plays_then_nothing(db, world):
    sync = make_sync(db, world)
    try:
        t1 = world.time_after_score(2)
        at(world, t1)
        first = sync.run_cycle()
        assert first.ok, first.failures
        assert alerts(db) == []  # first sight of a game in progress: a baseline, not news
        assert stored_plays(db) == len(world.plays_visible(t1))
        box = world.timeline.source["boxscore"]["players"]
        assert player_stat_rows(db) == sum(len(c["athletes"]) for team in box for c in team["statistics"])

        t2 = world.time_after_score(3)
        at(world, t2)
        second = sync.run_cycle()
        scores = alerts(db, "score")
        expected = world.score_changes(t1, t2)
        assert len(expected) == 1
        away, home = expected[0]
        assert [r["alert_key"] for r in scores] == [f"score:{GAME}:0:{away}-{home}"]
        assert second.plays_stored == len(world.plays_visible(t2)) - len(world.plays_visible(t1))
        assert stored_plays(db) == len(world.plays_visible(t2))

        before = len(alerts(db))
        third = sync.run_cycle()
        assert third.plays_stored == 0 and len(alerts(db)) == before
    finally:
        close_sync(sync)


def test_a_reversed_score_yields_one_correction(db, world):
    sync = make_sync(db, world)
    try:
        at(world, world.time_after_score(3))
        sync.run_cycle()
        game = db.run(lambda tx: tx.games.game(GAME))

        def reverse(event):
            for competitor in event["competitions"][0]["competitors"]:
                if competitor["homeAway"] == "home":
                    competitor["score"] = str(game["home_score"] - 3)
                    competitor["linescores"] = []
            return event

        world.tweak = reverse
        for _ in range(3):
            world.clock.advance(5)
            sync.run_cycle()
        corrections = [r for r in alerts(db) if r["alert_key"].startswith("correction:")]
        assert len(corrections) == 1
        assert corrections[0]["priority"] == "high"
        assert db.run(lambda tx: tx.games.game(GAME))["home_score"] == game["home_score"] - 3
    finally:
        close_sync(sync)


def test_a_failing_source_does_not_stop_the_others(db, world):
    sync = make_sync(db, world)
    world.kalshi_status = 500
    try:
        at(world, world.time_after_score(1))
        sync.run_cycle()
        at(world, world.time_after_score(2))
        report = sync.run_cycle()
        assert set(report.failures) == {"kalshi"}
        assert "HTTP 500" in report.failures["kalshi"]
        assert len(alerts(db, "score")) == 1
        log = db.run(
            lambda tx: (
                tx.cur.execute("SELECT sync_type, sync_status FROM nfl_data_sync_log ORDER BY id"),
                tx.cur.fetchall(),
            )[1]
        )
        assert ("kalshi", "failed") in {(r["sync_type"], r["sync_status"]) for r in log}
        assert ("scoreboard", "success") in {(r["sync_type"], r["sync_status"]) for r in log}
        system = alerts(db, "system")  # the health check of the first cycle saw Kalshi down
        assert [r["alert_key"].split(":")[1] for r in system] == ["kalshi"]
        assert "HTTP 500" in system[0]["message"]
    finally:
        close_sync(sync)


def test_restart_mid_game_neither_repeats_nor_misses_alerts(db, world):
    t1, t2, t3 = world.time_after_score(1), world.time_after_score(3), world.time_after_score(6)
    sync = make_sync(db, world)
    try:
        at(world, t1)
        sync.run_cycle()
        at(world, t2)
        sync.run_cycle()
    finally:
        close_sync(sync)
    keys_before = [r["alert_key"] for r in alerts(db, "score")]
    assert len(keys_before) == len(world.score_changes(t1, t2))

    restarted = make_sync(db, world)
    try:
        restarted.run_cycle()  # same moment as before the restart: nothing new
        assert [r["alert_key"] for r in alerts(db, "score")] == keys_before
        at(world, t3)  # the daemon was down while three more scores happened
        restarted.run_cycle()
    finally:
        close_sync(restarted)
    expected = [f"score:{GAME}:0:{a}-{h}" for a, h in world.score_changes(t1, t3)]
    keys = [r["alert_key"] for r in alerts(db, "score")]
    # Each score once: the scoreboard's newest at once, the ones it skipped from the plays after.
    assert sorted(keys) == sorted(expected) and len(set(keys)) == len(keys)
    assert keys[2] == expected[-1]  # after the restart, the score the scoreboard shows comes first
    assert stored_plays(db) == len(world.plays_visible(t3))


def test_a_play_edited_by_espn_is_stored_again_and_classified_anew(db, world):
    sync = make_sync(db, world)
    try:
        t1 = world.time_after_score(2)
        at(world, t1)
        sync.run_cycle()
        plays = db.run(lambda tx: tx.games.plays(GAME))
        short = next(p for p in plays if p["type"] == "Rush" and 0 < (p["yards"] or 0) < 5 and not p["significance"])

        def lengthen(document):  # ESPN re-spots the run: 34 yards
            for drive in document["drives"]["previous"]:
                for play in drive["plays"]:
                    if play["id"] == short["play_id"]:
                        play["statYardage"] = 34
            return document

        world.summary_tweak = lengthen
        at(world, world.time_after_score(3))  # new plays: the summary is fetched again
        sync.run_cycle()
        edited = next(p for p in db.run(lambda tx: tx.games.plays(GAME)) if p["play_id"] == short["play_id"])
        unchanged = {p["play_id"]: p for p in db.run(lambda tx: tx.games.plays(GAME))}
        assert edited["yards"] == 34 and "big_play" in edited["significance"]
        assert all(
            unchanged[p["play_id"]]["significance"] == p["significance"]
            for p in plays
            if p["play_id"] != short["play_id"]
        )
    finally:
        close_sync(sync)


def test_a_play_espn_renumbers_is_alerted_once_and_its_old_row_marked_deleted(db, world):
    interception = "401547417283"  # Ridder intercepted by Douglas, 1st quarter
    index = next(i for i, p in enumerate(world.timeline.plays) if p.id == interception)
    sync = make_sync(db, world)
    try:
        at(world, world.timeline.plays[index - 2].visible_at + timedelta(seconds=1))
        sync.run_cycle()  # first sight: the game so far is history
        for play in world.timeline.plays[index - 1 : index + 1]:
            at(world, play.visible_at + timedelta(seconds=1))
            assert sync.run_cycle().ok
        assert [a["alert_key"] for a in alerts(db, "significant_play")] == [f"play:{GAME}:{interception}"]

        def renumber(document):
            for drive in document["drives"]["previous"]:
                for play in drive["plays"]:
                    if play["id"] == interception:
                        play["id"] = "401547417284999"
            return document

        world.summary_tweak = renumber
        for play in world.timeline.plays[index + 1 : index + 3]:  # new plays: the summary is fetched again
            at(world, play.visible_at + timedelta(seconds=1))
            assert sync.run_cycle().ok
        assert [a["alert_key"] for a in alerts(db, "significant_play")] == [f"play:{GAME}:{interception}"]
        rows = {p["play_id"]: p for p in db.run(lambda tx: tx.games.plays(GAME))}
        assert rows[interception]["deleted_at"] is not None
        assert (
            rows["401547417284999"]["deleted_at"] is None and "interception" in rows["401547417284999"]["significance"]
        )
    finally:
        close_sync(sync)


def test_the_clock_drives_cadences(db, world):
    sync = make_sync(db, world)
    try:
        at(world, world.timeline.kickoff - timedelta(hours=3))  # nothing live, nothing starting soon
        for _ in range(61):  # five minutes of 5-second cycles, both ends included
            sync.run_cycle()
            world.clock.advance(5)
        assert world.calls("/scoreboard") == 2 + 1  # idle polling (t=0, t=300) plus the schedule
        assert world.calls("/markets") == 2
        assert world.calls("/injuries") == 2
        at(world, world.timeline.kickoff + timedelta(minutes=20))  # live now: every cycle
        before = world.calls("/scoreboard?")
        for _ in range(12):
            sync.run_cycle()
            world.clock.advance(5)
        assert world.calls("/scoreboard?") - before >= 11
        assert world.calls("/injuries") == 2 + 1
    finally:
        close_sync(sync)


def test_a_cycle_a_hair_early_still_polls(db, world):
    sync = make_sync(db, world)
    try:
        at(world, world.timeline.kickoff + timedelta(minutes=20))
        sync.run_cycle()
        before = world.calls("/scoreboard?")
        world.clock.advance(4.98)  # sleep overshoot of the previous cycle made this one start early
        sync.run_cycle()
        assert world.calls("/scoreboard?") == before + 1
    finally:
        close_sync(sync)


def test_a_play_is_classified_by_its_own_points_and_anew_only_when_espn_edits_it(db, world):
    from factories import play

    sync = make_sync(db, world)
    try:
        first = play(n=1)
        touchdown = play(n=2, home_score=7, text="Robinson 5 yd run", yards=5, score_value=7, scoring_play=True)
        before = sync.plays.classify(GAME, [first, touchdown])
        assert "touchdown" in before[1].significance
        again = sync.plays.classify(GAME, [first, touchdown])
        assert again[1] is before[1]  # unchanged: not classified again
        # The kickoff after it shows the touchdown's score; the parser gave it no points.
        kickoff = play(n=3, home_score=7, type="Kickoff", text="Koo kicks 65 yards", yards=65)
        moved = sync.plays.classify(GAME, [replace(first, home_score=0), touchdown, kickoff])
        assert moved[1] is before[1] and moved[2].significance == ()
        overturned = sync.plays.classify(GAME, [first, replace(touchdown, score_value=0, scoring_play=False)])
        assert "touchdown" not in overturned[1].significance  # ESPN edited it: classified again
    finally:
        close_sync(sync)


def test_the_sender_is_woken_on_the_first_cycle_and_then_only_by_new_events(db, world):
    sync = make_sync(db, world)
    woken = []
    wake = sync.alerts.wake
    sync.alerts.wake = lambda: (woken.append(world.clock.now()), wake())
    try:
        at(world, world.time_after_score(1))
        sync.run_cycle()  # first sight: a baseline, no events; the sender starts
        assert len(woken) == 1
        world.clock.advance(5)
        quiet = sync.run_cycle()
        assert quiet.events == [] and len(woken) == 1
        at(world, world.time_after_score(2))
        scored = sync.run_cycle()
        assert [e.alert_type for e in scored.events].count("score") == 1 and len(woken) >= 2
    finally:
        close_sync(sync)


def test_kalshi_prices_map_to_a_game_first_seen_in_the_same_cycle(db, world):
    world.fail_schedule = True  # the week's schedule is not known when Kalshi is asked
    sync = make_sync(db, world)
    try:
        at(world, world.time_after_score(1))
        report = sync.run_cycle()
        assert set(report.failures) == {"schedule"}
        rows = db.run(
            lambda tx: (
                tx.cur.execute("SELECT ticker, game_id FROM nfl_kalshi_prices ORDER BY ticker"),
                tx.cur.fetchall(),
            )[1]
        )
        assert [(r["ticker"], r["game_id"]) for r in rows] == [
            ("KXNFLGAME-23SEP17GBATL-ATL", GAME),
            ("KXNFLGAME-23SEP17GBATL-GB", GAME),
        ]
    finally:
        close_sync(sync)


def test_markets_that_close_or_settle_leave_memory_and_are_not_restored(db, world):
    atl, gb = "KXNFLGAME-23SEP17GBATL-ATL", "KXNFLGAME-23SEP17GBATL-GB"
    at(world, world.time_after_score(1))
    sync = make_sync(db, world)
    try:
        sync.run_cycle()
        assert set(sync.markets.last_prices) == set(sync.markets.price_history) == {atl, gb}
    finally:
        close_sync(sync)
    sync = make_sync(db, world)  # a restart while both trade restores both
    try:
        assert set(sync.markets.last_prices) == {atl, gb}
        # ATL's market is listed settled; GB's is no longer in the listing of open markets.
        world.listing = lambda markets: [dict(markets[0], status="finalized")]
        world.clock.advance(10)
        sync.run_cycle()
        lane = sync.markets
        assert not (lane.last_prices or lane.stored_prices or lane.price_history or lane.known_markets)
        statuses = rows(db, "SELECT ticker, status FROM nfl_kalshi_markets ORDER BY ticker")
        assert [(r["ticker"], r["status"]) for r in statuses] == [(atl, "finalized"), (gb, "closed")]
    finally:
        close_sync(sync)
    sync = make_sync(db, world)
    try:
        assert sync.markets.last_prices == {}
    finally:
        close_sync(sync)


def test_a_game_over_for_a_day_leaves_every_lane_s_memory(db, world):
    at(world, world.timeline.end + timedelta(minutes=5))
    sync = make_sync(db, world)
    try:
        sync.run_cycle()
        assert GAME in sync.scoreboard.memory and GAME in sync.plays.memory and sync.recent.of(GAME) == []
        sync.recent.extend(GAME, world.plays_visible(world.clock.now())[-3:])
        at(world, world.timeline.end + timedelta(hours=12))
        sync.run_cycle()
        assert GAME in sync.scoreboard.memory and sync.board.get(GAME) is not None  # not a day after kickoff yet
        world.listed = False  # the next day's scoreboard
        at(world, world.timeline.kickoff + timedelta(hours=24))
        sync.run_cycle()
        assert sync.board.get(GAME) is None
        assert GAME not in sync.scoreboard.memory and GAME not in sync.scoreboard.stored
        sync.plays.step(CycleReport(started=world.clock.now()))  # the plays lane forgets at its next step
        assert GAME not in sync.plays.memory and GAME not in sync.plays.classified
        assert sync.recent.of(GAME) == []
        assert len(alerts(db, "score")) == 0  # a game first seen final is a baseline, then forgotten quietly
    finally:
        close_sync(sync)


def test_espn_dates_are_new_york_days_whatever_the_display_timezone(db, world):
    # Sunday 22:30 UTC is Sunday 18:30 in New York and already Monday 07:30 in Tokyo: the late
    # games are on Sunday's scoreboard, so Sunday it must be.
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    sunday = datetime(2023, 9, 17, 22, 30, tzinfo=UTC)
    assert sunday.astimezone(ZoneInfo("Asia/Tokyo")).strftime("%A %H:%M") == "Monday 07:30"
    sync = make_sync(db, world, timezone=ZoneInfo("Asia/Tokyo"))
    try:
        at(world, sunday)
        assert sync.run_cycle().ok
    finally:
        close_sync(sync)
    asked = [
        re.search(r"dates=([\d-]+)", c.request.url).group(1) for c in world.rsps.calls if "/scoreboard" in c.request.url
    ]
    assert sorted(asked) == ["20230917", "20230917-20230924"]  # today's scoreboard, the week's schedule


def test_a_database_outage_fails_the_steps_and_costs_no_game_its_alerts_or_a_backoff(db, world, caplog):
    from nfl_sync.engine.report import CycleReport

    sync = make_sync(db, world)
    dsn = sync.db.dsn

    def database(up: bool) -> None:
        sync.db.dsn = dsn if up else "postgresql://nobody@127.0.0.1:1/none"
        sync.db.reset_pool()

    try:
        at(world, world.time_after_score(2))
        assert sync.run_cycle().ok  # the baseline
        t = world.time_after_score(3)
        at(world, t)
        report = CycleReport(started=t)
        sync.runner.run(sync.scoreboard, report)  # the score alerted, the summary asked for
        assert report.failures == {} and sync.plays.pending() == [GAME]
        database(up=False)
        sync.runner.run(sync.plays, report)
        later = world.time_after_score(4)
        at(world, later)
        sync.runner.run(sync.scoreboard, report)  # a new score, and nowhere to write it
        # The steps failed, each once; no game is blamed or backed off.
        assert set(report.failures) == {"plays", "scoreboard"}
        assert not [r for r in caplog.records if "could not be processed" in r.getMessage() or GAME in r.getMessage()]
        assert sync.health.consecutive_failures["scoreboard"] == 1
        database(up=True)
        world.clock.advance(sync.settings.sync_interval)
        assert sync.run_cycle().ok
    finally:
        database(up=True)
        close_sync(sync)
    changes = world.score_changes(world.time_after_score(2), later)
    assert len(changes) == 2
    assert [r["alert_key"] for r in alerts(db, "score")] == [f"score:{GAME}:0:{a}-{h}" for a, h in changes]
    assert stored_plays(db) == len(world.plays_visible(world.clock.now()))


def test_a_game_the_database_rejects_costs_the_other_games_nothing(db, world):
    # A corrupt feed: another game's down-and-distance beyond any column's range.
    sync = make_sync(db, world)
    try:
        at(world, world.time_after_score(2))
        broken = copy.deepcopy(world.timeline.scoreboard_event(world.clock.now()))
        broken["id"] = broken["competitions"][0]["id"] = "401999999"
        broken["competitions"][0].setdefault("situation", {})["distance"] = 99999
        world.more_events = [broken]
        report = sync.run_cycle()
    finally:
        close_sync(sync)
    # The week's schedule stores its games in one batch, so its step fails on this game too; what
    # is checked here is the scoreboard's isolation.
    assert {name for name in report.failures if name.startswith("scoreboard")} == {"scoreboard:401999999"}
    stored = db.run(lambda tx: (tx.cur.execute("SELECT game_id FROM nfl_games"), tx.cur.fetchall())[1])
    assert [r["game_id"] for r in stored] == [GAME]


def test_after_a_restart_a_renumbered_play_is_known_and_a_dropped_turnover_is_corrected(db, world):
    from factories import game, play
    from nfl_sync.domain.detection import baseline
    from nfl_sync.domain.play_detection import detect_plays

    interception = play(
        n=2, type="Pass Interception Return", text="Love pass INTERCEPTED by Bates", significance=("interception",)
    )
    plays = [play(n=1), interception, play(n=3)]
    db.run(lambda tx: (tx.games.upsert_game(game()), tx.games.insert_plays(plays)))
    sync = make_sync(db, world)
    try:
        sync.plays.restore(db.run(lambda tx: tx.ops.detection_state())["games"])
        memory = sync.plays.memory[GAME]
        score = baseline(game(), world.clock.now())
        now = world.clock.now()
        renumbered = replace(interception, play_id="401547417999002")
        update = detect_plays(memory, score, game(), [plays[0], renumbered, plays[2]], now)
        assert update.events == () and update.deleted == (interception.play_id,)
        gone = detect_plays(update.memory, score, game(), [plays[0], plays[2]], now)
        twice = detect_plays(gone.memory, score, game(), [plays[0], plays[2]], now)
        assert [e.key for e in twice.events] == ["correction:play:401547417:401547417999002"]
    finally:
        close_sync(sync)


def test_a_lock_held_on_the_alert_triggers_costs_one_step_then_the_score_goes_through_marked_late(
    db, database_url, world
):
    """An operator's uncommitted UPDATE on nfl_alert_triggers: the score's write waits at most
    the lock timeout, the step fails saying so, and the next cycle after the lock is gone stores
    the score with its alert, which says it is late."""
    import psycopg2

    from nfl_sync.config import ConnectionLimits
    from nfl_sync.storage.manager import NFLDBManager

    sync = make_sync(
        NFLDBManager(database_url, pool_min=1, pool_max=4, limits=ConnectionLimits(lock_timeout=0.2)), world
    )
    operator = psycopg2.connect(database_url)
    try:
        at(world, world.time_after_score(2))
        assert sync.run_cycle().ok  # the baseline
        at(world, world.time_after_score(3))
        with operator.cursor() as cur:
            cur.execute("UPDATE nfl_alert_triggers SET enabled = enabled")  # left open
        held = sync.run_cycle()
        assert "lock timeout" in held.failures["scoreboard"]
        assert alerts(db, "score") == []
        operator.rollback()
        world.clock.advance(sync.settings.sync_interval)
        assert sync.run_cycle().ok
    finally:
        operator.close()
        close_sync(sync)
    [(away, home)] = world.score_changes(world.time_after_score(2), world.time_after_score(3))
    [score] = alerts(db, "score")
    assert score["alert_key"] == f"score:{GAME}:0:{away}-{home}"
    assert score["payload"]["held_seconds"] == sync.settings.sync_interval
    assert "Delayed by a database outage" in score["message"]


def test_a_read_only_database_fails_the_steps_without_stopping_the_loop_then_it_catches_up(
    db, pg_server, database_url, world
):
    """A failover to a standby: every session read-only. The steps fail as database errors (the
    critical "5 failed steps" alert goes to the console directly, since the outbox cannot take
    it), and once the database is writable the score of the outage is stored and alerted."""
    from helpers import read_only_database, wait_for
    from nfl_sync.health import FAILED_STEPS_CRITICAL

    sync = make_sync(db, world)
    try:
        at(world, world.time_after_score(2))
        assert sync.run_cycle().ok
        at(world, world.time_after_score(3))
        with read_only_database(pg_server, database_url):
            db.reset_pool()
            for _ in range(FAILED_STEPS_CRITICAL):
                report = sync.run_cycle()
                assert "read-only" in report.failures["scoreboard"]
                world.clock.advance(sync.settings.sync_interval)
            wait_for(lambda: not sync.alerts.direct.unsent(), 10, "the critical alert sent directly")
        assert sync.run_cycle().ok
        wait_for(lambda: not len(sync.alerts.direct), 10, "the direct path recorded in the outbox")
    finally:
        close_sync(sync)
    [(away, home)] = world.score_changes(world.time_after_score(2), world.time_after_score(3))
    assert [r["alert_key"] for r in alerts(db, "score")] == [f"score:{GAME}:0:{away}-{home}"]
    assert alerts(db, "score")[0]["payload"]["held_seconds"] > 0
    system = [(r["alert_key"], r["status"]) for r in alerts(db, "system") if "read-only" in r["message"]]
    assert ("system:scoreboard:" + world.time_after_score(3).isoformat(), "sent") in system


def test_after_a_restart_the_scoreboards_last_play_renumbered_is_not_alerted_again(db, world):
    from factories import game, play
    from nfl_sync.domain.detection import detect_scoreboard

    interception = play(
        n=2, type="Pass Interception Return", text="Love pass INTERCEPTED by Bates", significance=("interception",)
    )
    db.run(
        lambda tx: (
            tx.games.upsert_game(game(last_play_id=interception.play_id, last_play_text=interception.text)),
            tx.games.insert_plays([play(n=1), interception]),
        )
    )
    sync = make_sync(db, world)
    try:
        sync.scoreboard.restore(db.run(lambda tx: tx.ops.detection_state())["games"], world.clock.now())
        renumbered = replace(interception, play_id="401547417999002", sequence_number=0, clock="9:12")
        update = detect_scoreboard(
            sync.scoreboard.memory[GAME],
            game(last_play_id=renumbered.play_id, last_play=renumbered),
            world.clock.now(),
        )
        assert update.events == ()
    finally:
        close_sync(sync)
