"""KalshiClient's NFL slate against recorded markets served by `responses`: one call per series,
markets mapped to ESPN games, unmapped ones reported once, empty series polled less often."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import responses

from kalshi_support import MARKETS, make_client, nfl_market, page, scheduled_game, slate_query
from nfl_sync.domain.errors import KalshiFormatError
from nfl_sync.domain.models import Game
from nfl_sync.sources.kalshi.client import KalshiClient, NFLSlate

KICKOFF_BUF_LAR = datetime(2026, 10, 13, 0, 15, tzinfo=UTC)


BUF_AT_LAR = scheduled_game("401900001", "BUF", "LAR", KICKOFF_BUF_LAR)
TB_AT_DAL = scheduled_game("401900002", "TB", "DAL", datetime(2026, 10, 9, 0, 15, tzinfo=UTC))


def nfl_slate(client: KalshiClient, games: tuple[Game, ...] | list[Game] = ()) -> NFLSlate:
    """What the daemon does each cycle: fetch the open NFL markets, then map them to games."""
    return client.map_to_games(client.fetch_nfl_markets(), games)


def serve_slate(api: responses.RequestsMock) -> None:
    api.get(MARKETS, json=page("KXNFLGAME-26OCT12BUFLAR-LAR"), match=slate_query("KXNFLGAME"))
    api.get(MARKETS, json=page("KXNFLSPREAD-26OCT08TBDAL-TB8"), match=slate_query("KXNFLSPREAD"))
    api.get(MARKETS, json=page("KXNFLTOTAL-26OCT08TBDAL-69"), match=slate_query("KXNFLTOTAL"))


def test_nfl_prices_one_call_per_series_mapped_to_games(api, clock):
    serve_slate(api)
    slate = nfl_slate(make_client(clock), [BUF_AT_LAR, TB_AT_DAL])
    assert len(api.calls) == 3
    assert (
        [s.ticker for s in slate.snapshots]
        == [m.ticker for m in slate.markets]
        == ["KXNFLGAME-26OCT12BUFLAR-LAR", "KXNFLSPREAD-26OCT08TBDAL-TB8", "KXNFLTOTAL-26OCT08TBDAL-69"]
    )
    assert (
        [m.game_id for m in slate.markets]
        == [s.game_id for s in slate.snapshots]
        == [BUF_AT_LAR.game_id, TB_AT_DAL.game_id, TB_AT_DAL.game_id]
    )
    assert slate.unmapped == ()
    lar = slate.snapshots[0]
    assert lar.ts == clock.now()
    assert (lar.yes_bid, lar.yes_ask, lar.implied_probability) == (Decimal("0.53"), Decimal("0.56"), Decimal("0.545"))
    assert slate.markets[2].line == Decimal("68.5")


def test_unmapped_markets_are_kept_and_reported_once(api, clock, caplog):
    serve_slate(api)
    client = make_client(clock)
    with caplog.at_level(logging.WARNING, logger="nfl_sync.sources.kalshi.client"):
        first = nfl_slate(client, [BUF_AT_LAR])
        serve_slate(api)
        second = nfl_slate(client, [BUF_AT_LAR])
    for slate in (first, second):
        assert [u.market.ticker for u in slate.unmapped] == [
            "KXNFLSPREAD-26OCT08TBDAL-TB8",
            "KXNFLTOTAL-26OCT08TBDAL-69",
        ]
        assert [s.game_id for s in slate.snapshots] == [BUF_AT_LAR.game_id, None, None]
    reports = [r.getMessage() for r in caplog.records if "not mapped to an ESPN game" in r.getMessage()]
    assert reports == [
        f"Kalshi market {ticker} is not mapped to an ESPN game: no ESPN game for TB at DAL on 2026-10-08"
        for ticker in ("KXNFLSPREAD-26OCT08TBDAL-TB8", "KXNFLTOTAL-26OCT08TBDAL-69")
    ]


def test_a_series_empty_three_times_in_a_row_is_polled_again_only_after_a_minute(api, clock):
    client = make_client(clock, KALSHI_SERIES="KXNFLGAME,KXNFLSPREAD")

    def poll(spread: tuple[str, ...] = (), spread_asked: bool = True):
        api.get(MARKETS, json=page("KXNFLGAME-26OCT12BUFLAR-LAR"), match=slate_query("KXNFLGAME"))
        if spread_asked:
            api.get(MARKETS, json=page(*spread), match=slate_query("KXNFLSPREAD"))
        slate = nfl_slate(client, [BUF_AT_LAR, TB_AT_DAL])
        clock.advance(5)
        return slate

    def asked() -> list[str]:
        return [c.request.params["series_ticker"] for c in api.calls]

    poll(("KXNFLSPREAD-26OCT08TBDAL-TB8",))
    poll()  # one empty answer (a glitch) changes nothing
    poll(("KXNFLSPREAD-26OCT08TBDAL-TB8",))
    for _ in range(3):
        poll()
    assert asked() == ["KXNFLGAME", "KXNFLSPREAD"] * 6
    for _ in range(11):  # the next 55 s: the game series only
        poll(spread_asked=False)
    assert asked()[12:] == ["KXNFLGAME"] * 11
    slate = poll(("KXNFLSPREAD-26OCT08TBDAL-TB8",))  # a minute after it was last asked
    assert asked()[-2:] == ["KXNFLGAME", "KXNFLSPREAD"]
    assert [s.game_id for s in slate.snapshots] == [BUF_AT_LAR.game_id, TB_AT_DAL.game_id]
    poll(("KXNFLSPREAD-26OCT08TBDAL-TB8",))  # with markets again, it is polled every cycle
    assert asked()[-2:] == ["KXNFLGAME", "KXNFLSPREAD"]


def test_markets_are_mapped_again_when_the_schedule_changes(api, clock):
    serve_slate(api)
    client = make_client(clock)
    first = nfl_slate(client, [BUF_AT_LAR])
    serve_slate(api)
    second = nfl_slate(client, [BUF_AT_LAR, TB_AT_DAL])
    moved = scheduled_game("401900003", "TB", "DAL", TB_AT_DAL.start_time)  # ESPN re-listed the game
    serve_slate(api)
    third = nfl_slate(client, [BUF_AT_LAR, moved])
    assert [m.game_id for m in first.markets] == [BUF_AT_LAR.game_id, None, None]
    assert [m.game_id for m in second.markets] == [BUF_AT_LAR.game_id, TB_AT_DAL.game_id, TB_AT_DAL.game_id]
    assert [s.game_id for s in third.snapshots] == [BUF_AT_LAR.game_id, moved.game_id, moved.game_id]
    assert second.unmapped == third.unmapped == ()


def test_configured_series_list(api, clock):
    api.get(MARKETS, json=page("KXNFL1H-26OCT05ATLNO-ATL", "KXNFL1H-26OCT05ATLNO-TIE"), match=slate_query("KXNFL1H"))
    slate = nfl_slate(make_client(clock, KALSHI_SERIES="KXNFL1H"))
    assert [(m.segment, m.team) for m in slate.markets] == [("1H", "ATL"), ("1H", None)]
    assert slate.unmapped == () and all(m.game_id is None for m in slate.markets)


def test_schema_drift_reaches_the_caller(api, clock):
    old = {k: v for k, v in nfl_market("KXNFLGAME-26OCT12BUFLAR-LAR").items() if not k.endswith(("_dollars", "_fp"))}
    old.update(yes_bid=53, yes_ask=56, last_price=56, volume=650, open_interest=487)
    api.get(MARKETS, json={"markets": [old], "cursor": ""}, match=slate_query("KXNFLGAME"))
    with pytest.raises(KalshiFormatError, match="^Kalshi response format changed: market KXNFLGAME-26OCT12BUFLAR-LAR"):
        nfl_slate(make_client(clock, KALSHI_SERIES="KXNFLGAME"), [BUF_AT_LAR])
