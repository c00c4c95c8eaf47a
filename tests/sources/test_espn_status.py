"""ESPN's status read by its name, not its state: a postponed or canceled game says "post" and
is no final. Each case is a real scoreboard event (2022 week 1, live) given the status block
ESPN sends for that status."""

from __future__ import annotations

import pytest

from espn_support import raw
from nfl_sync.domain.models import GamePhase, GameState
from nfl_sync.sources.espn.scoreboard import parse_scoreboard

LIVE = "scoreboard_20220911_wk1_live.json"


def _game_with_status(name: str, state: str, completed: bool | None, period: int = 2):
    data = raw(LIVE)
    event = data["events"][0]
    status = event["competitions"][0]["status"]
    status["period"] = period
    status["type"]["name"] = name
    status["type"]["state"] = state
    if completed is None:
        status["type"].pop("completed", None)
    else:
        status["type"]["completed"] = completed
    data["events"] = [event]
    return parse_scoreboard(data)[0]


@pytest.mark.parametrize(
    ("name", "state", "completed", "period", "phase", "daemon_state"),
    [
        ("STATUS_SCHEDULED", "pre", False, 0, GamePhase.SCHEDULED, GameState.PRE),
        ("STATUS_IN_PROGRESS", "in", False, 2, GamePhase.IN_PROGRESS, GameState.IN),
        ("STATUS_HALFTIME", "in", False, 2, GamePhase.HALFTIME, GameState.IN),
        ("STATUS_END_PERIOD", "in", False, 1, GamePhase.END_OF_PERIOD, GameState.IN),
        ("STATUS_DELAYED", "pre", False, 0, GamePhase.DELAYED, GameState.PRE),
        ("STATUS_DELAYED", "post", False, 0, GamePhase.DELAYED, GameState.PRE),  # before kickoff
        ("STATUS_DELAYED", "in", False, 3, GamePhase.DELAYED, GameState.IN),  # a weather delay
        ("STATUS_SUSPENDED", "post", False, 3, GamePhase.SUSPENDED, GameState.IN),  # resumes later
        ("STATUS_POSTPONED", "post", False, 0, GamePhase.POSTPONED, GameState.PRE),
        ("STATUS_CANCELED", "post", False, 0, GamePhase.CANCELED, GameState.POST),
        ("STATUS_FINAL", "post", True, 4, GamePhase.FINAL, GameState.POST),
        ("STATUS_FINAL_OVERTIME", "post", True, 5, GamePhase.FINAL_OT, GameState.POST),
        ("STATUS_FINAL", "post", None, 4, GamePhase.FINAL, GameState.POST),  # older payloads: no flag
        ("STATUS_FINAL", "post", False, 4, GamePhase.SUSPENDED, GameState.IN),  # ESPN: not completed
        ("STATUS_SOMETHING_NEW", "in", False, 2, GamePhase.IN_PROGRESS, GameState.IN),  # read from state
    ],
)
def test_the_status_name_decides_the_phase_and_completed_decides_a_final(
    name, state, completed, period, phase, daemon_state
):
    game = _game_with_status(name, state, completed, period)
    assert (game.status, game.phase, game.state) == (name, phase, daemon_state)
    assert game.is_final == (phase in (GamePhase.FINAL, GamePhase.FINAL_OT))
    assert game.is_over == (daemon_state == GameState.POST)


def test_a_suspended_game_is_not_over_but_not_live_either():
    game = _game_with_status("STATUS_SUSPENDED", "post", False, 3)
    assert not game.is_live and not game.is_over  # no live cadence for days; it may resume


def test_a_postponed_game_is_not_live_and_has_no_final_score():
    game = _game_with_status("STATUS_POSTPONED", "post", False, 0)
    assert not game.is_live and not game.is_final
    assert (game.home_score, game.away_score) == (None, None)  # not a 0-0 result
