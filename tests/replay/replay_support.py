"""Fixtures of the replay tests: the two recorded games, a slate of copies, a simulated clock, a
keep-alive session (as the daemon's clients use), fake ESPN and Kalshi servers for both games and
a fake Telegram Bot API. Test modules load it with `pytest_plugins = ["replay_support"]`:
tests/replay has no conftest.py, which would take the module name `conftest` from
tests/conftest.py, imported by name in a test."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import requests

from helpers import FIXTURES, TELEGRAM_TOKEN
from nfl_replay.clock import SimulatedClock
from nfl_replay.espn_server import FakeESPNServer
from nfl_replay.kalshi_server import FakeKalshiServer
from nfl_replay.telegram_server import FakeTelegramServer
from nfl_replay.timeline import GameTimeline, load_game


@pytest.fixture(scope="module")
def gb_atl() -> GameTimeline:
    return load_game(FIXTURES / "espn" / "summary_401547417.json")


@pytest.fixture(scope="module")
def bal_jax() -> GameTimeline:
    return load_game(FIXTURES / "espn" / "cdn_game_401547602.json")


@pytest.fixture(scope="module")
def slate(gb_atl, bal_jax) -> list[GameTimeline]:
    """16 games from the two recordings: distinct ids, one Eastern day apart so each copy is a
    Kalshi event of its own."""
    return [(gb_atl if i % 2 == 0 else bal_jax).with_id(f"9000000{i:02d}", timedelta(days=i // 2)) for i in range(16)]


@pytest.fixture
def clock(gb_atl) -> SimulatedClock:
    return SimulatedClock(gb_atl.kickoff - timedelta(hours=1), None)


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as s:
        yield s


@pytest.fixture
def espn(gb_atl, bal_jax, clock) -> Iterator[FakeESPNServer]:
    with FakeESPNServer([gb_atl, bal_jax], clock) as server:
        yield server


@pytest.fixture
def kalshi(gb_atl, bal_jax, clock) -> Iterator[FakeKalshiServer]:
    with FakeKalshiServer([gb_atl, bal_jax], clock) as server:
        yield server


@pytest.fixture
def telegram():
    server = FakeTelegramServer(TELEGRAM_TOKEN).start()
    yield server
    server.stop()
