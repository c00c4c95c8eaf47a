"""KalshiClient's market-data endpoints against recorded payloads served by `responses`: pagination,
events, series, trades, candlesticks, retries and the rate limit, and request signing. Nothing here
contacts Kalshi."""

from __future__ import annotations

import base64
import logging
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from responses import matchers

from helpers import fixture_json
from kalshi_support import BASE, KEY_ID, MARKETS, make_client, nfl_market, page, slate_query
from nfl_sync.config import load_settings
from nfl_sync.domain.errors import ConfigError, SourceError
from nfl_sync.sources.kalshi.client import LEGACY_CREDENTIALS_WARNING, KalshiClient
from nfl_sync.sources.kalshi.records import ExchangeStatus

SIGNATURE_HEADERS = ("KALSHI-ACCESS-KEY", "KALSHI-ACCESS-TIMESTAMP", "KALSHI-ACCESS-SIGNATURE")

# --- pagination -------------------------------------------------------------------------------------


def test_markets_follow_the_cursor_until_empty(api, clock):
    first = fixture_json("kalshi", "other_series", "kalshi_markets.json")
    nested = [m for e in fixture_json("kalshi", "other_series", "kalshi_events.json")["events"] for m in e["markets"]]
    base = {"series_ticker": "KXBTCD", "limit": "1000"}
    api.get(MARKETS, json=first, match=[matchers.query_param_matcher(base)])
    api.get(
        MARKETS,
        json={"markets": nested, "cursor": "page-3"},
        match=[matchers.query_param_matcher({**base, "cursor": first["cursor"]})],
    )
    api.get(
        MARKETS,
        json=page("KXNFLGAME-26OCT12BUFLAR-LAR"),
        match=[matchers.query_param_matcher({**base, "cursor": "page-3"})],
    )
    markets = make_client(clock).get_markets(series_ticker="KXBTCD")
    assert len(api.calls) == 3
    assert len(markets) == 3 + 9 + 1
    assert markets[0].market.ticker == "KXBTCD-26JUL2502-T74299.99"
    assert markets[-1].market.ticker == "KXNFLGAME-26OCT12BUFLAR-LAR"


def test_repeated_cursor_stops_instead_of_looping(api, clock):
    api.get(MARKETS, json={"markets": [], "cursor": "same"})
    api.get(MARKETS, json={"markets": [], "cursor": "same"})
    with pytest.raises(SourceError, match="pagination cursor repeated"):
        make_client(clock).get_markets()
    assert len(api.calls) == 2


def test_market_filters_and_status_vocabulary(api, clock):
    api.get(
        MARKETS,
        json=page("KXNFLGAME-26OCT12BUFLAR-LAR"),
        match=[
            matchers.query_param_matcher(
                {
                    "event_ticker": "KXNFLGAME-26OCT12BUFLAR",
                    "status": "open",
                    "limit": "1000",
                    "tickers": "KXNFLGAME-26OCT12BUFLAR-LAR,KXNFLGAME-26OCT12BUFLAR-BUF",
                }
            )
        ],
    )
    markets = make_client(clock).get_markets(
        event_ticker="KXNFLGAME-26OCT12BUFLAR",
        status="active",
        tickers=["KXNFLGAME-26OCT12BUFLAR-LAR", "KXNFLGAME-26OCT12BUFLAR-BUF"],
    )
    assert [m.market.ticker for m in markets] == ["KXNFLGAME-26OCT12BUFLAR-LAR"]


# --- other endpoints --------------------------------------------------------------------------------


def test_market_details_are_cached_for_the_ttl(api, clock):
    ticker = "KXNFLGAME-26OCT12BUFLAR-LAR"
    api.get(f"{MARKETS}/{ticker}", json={"market": nfl_market(ticker)})
    client = make_client(clock)
    assert client.get_market_details(ticker).market.team == "LAR"
    clock.advance(59)
    client.get_market_details(ticker)
    assert len(api.calls) == 1
    clock.advance(2)
    client.get_market_details(ticker)
    assert len(api.calls) == 2


def test_orderbook_unauthenticated(api, clock):
    ticker = "KXBTCD-26JUL2502-T74299.99"
    api.get(f"{MARKETS}/{ticker}/orderbook", json=fixture_json("kalshi", "other_series", "kalshi_orderbook.json"))
    book = make_client(clock).get_orderbook(ticker)
    assert (book.best_yes_bid, book.yes_ask) == (None, Decimal("0.01"))
    assert not any(h in api.calls[0].request.headers for h in SIGNATURE_HEADERS)


def test_events_series_trades_and_exchange_status(api, clock):
    api.get(
        f"{BASE}/events",
        json=fixture_json("kalshi", "other_series", "kalshi_events.json"),
        match=[
            matchers.query_param_matcher(
                {"series_ticker": "KXNEXTNATOSECGEN", "status": "open", "with_nested_markets": "true", "limit": "200"},
                strict_match=False,
            )
        ],
    )
    api.get(
        f"{BASE}/events",
        json={"events": [], "cursor": ""},
        match=[
            matchers.query_param_matcher(
                {"cursor": fixture_json("kalshi", "other_series", "kalshi_events.json")["cursor"]}, strict_match=False
            )
        ],
    )
    api.get(f"{BASE}/series/KXBTCD", json=fixture_json("kalshi", "other_series", "kalshi_series.json"))
    api.get(
        f"{MARKETS}/trades",
        json=fixture_json("kalshi", "other_series", "kalshi_trades.json"),
        match=[
            matchers.query_param_matcher({"ticker": "KXETH15M-26JUL250200-00", "min_ts": "1784958600", "limit": "1000"})
        ],
    )
    api.get(f"{BASE}/exchange/status", json={"exchange_active": True, "trading_active": True})
    client = make_client(clock)
    events = client.get_events(series_ticker="KXNEXTNATOSECGEN", status="active")
    assert [len(e.markets) for e in events] == [1, 8]
    assert client.get_series("KXBTCD").title == "Bitcoin price Above/below"
    trades = client.get_trades(
        ticker="KXETH15M-26JUL250200-00", min_ts=datetime(2026, 7, 25, 5, 50, tzinfo=UTC), max_pages=1
    )
    assert [t.count for t in trades] == [Decimal("12.61"), Decimal("3.66"), Decimal("39.50")]
    assert client.get_exchange_status() == ExchangeStatus(True, True)


def test_exchange_maintenance_answer_is_read_from_the_5xx_body(api, clock):
    body = {"exchange_active": False, "trading_active": False, "exchange_estimated_resume_time": "2026-11-26T10:00:00Z"}
    api.get(f"{BASE}/exchange/status", json=body, status=503)
    status = make_client(clock, HTTP_MAX_TRIES="2").get_exchange_status()
    assert status == ExchangeStatus(False, False, datetime(2026, 11, 26, 10, tzinfo=UTC))


def test_live_and_historical_candlestick_endpoints(api, clock):
    recorded = fixture_json(
        "kalshi", "historical_candlesticks", "kalshi_candlesticks_KXNFLSPREAD-26JAN10GBCHI-GB14.json"
    )
    ticker = recorded["ticker"]
    start, end = datetime(2026, 1, 5, tzinfo=UTC), datetime(2026, 1, 6, tzinfo=UTC)
    query = {"start_ts": "1767571200", "end_ts": "1767657600", "period_interval": "60"}
    api.get(
        f"{BASE}/historical/markets/{ticker}/candlesticks",
        json={"ticker": ticker, "candlesticks": recorded["h60"]},
        match=[matchers.query_param_matcher(query)],
    )
    live = [
        {
            "end_period_ts": c["end_period_ts"],
            "volume_fp": c["volume"],
            "open_interest_fp": c["open_interest"],
            **{side: {f"{k}_dollars": v for k, v in c[side].items()} for side in ("yes_bid", "yes_ask", "price")},
        }
        for c in recorded["h60"]
    ]
    api.get(
        f"{BASE}/series/KXNFLSPREAD/markets/{ticker}/candlesticks",
        json={"ticker": ticker, "candlesticks": live},
        match=[matchers.query_param_matcher(query)],
    )
    client = make_client(clock)
    historical = client.get_historical_candlesticks(ticker, start, end)
    assert client.get_candlesticks("KXNFLSPREAD", ticker, start, end) == historical
    assert [c.yes_bid.close for c in historical] == [Decimal("0.09")] * 4
    with pytest.raises(ValueError, match="period_minutes"):
        client.get_candlesticks("KXNFLSPREAD", ticker, start, end, period_minutes=5)


# --- retries and rate limit -------------------------------------------------------------------------

TOO_MANY = {"error": "too many requests"}


def test_429_then_success_backs_off_with_jitter(api, clock):
    ticker = "KXNFLGAME-26OCT12BUFLAR-LAR"
    api.get(f"{MARKETS}/{ticker}", json=TOO_MANY, status=429)
    api.get(f"{MARKETS}/{ticker}", json={"market": nfl_market(ticker)})
    assert make_client(clock).get_market(ticker).quote.yes_bid == Decimal("0.53")
    assert len(api.calls) == 2
    # No Retry-After from Kalshi: first backoff ceiling 0.5 s, half fixed + half jitter (rng 0.5).
    assert clock.sleeps == [0.375]


def test_429_exhausts_the_tries_with_growing_backoff(api, clock):
    for _ in range(3):
        api.get(f"{BASE}/exchange/status", json=TOO_MANY, status=429)
    with pytest.raises(SourceError) as caught:
        make_client(clock, HTTP_MAX_TRIES="3").get_exchange_status()
    assert (caught.value.status, caught.value.attempts) == (429, 3)
    assert clock.sleeps == [0.375, 0.75]


def test_5xx_is_retried_and_other_4xx_is_not(api, clock):
    ticker = "KXNFLGAME-26OCT12BUFLAR-LAR"
    api.get(f"{MARKETS}/{ticker}", json={"code": "internal"}, status=502)
    api.get(f"{MARKETS}/{ticker}", json={"market": nfl_market(ticker)})
    api.get(f"{MARKETS}/NOPE", json={"code": "not_found", "message": "market not found"}, status=404)
    client = make_client(clock)
    assert client.get_market(ticker).market.ticker == ticker
    with pytest.raises(SourceError, match="market not found") as caught:
        client.get_market("NOPE")
    assert (caught.value.status, caught.value.attempts) == (404, 1)
    assert len(api.calls) == 3


def test_token_bucket_spaces_reads(api, clock):
    ticker = "KXNFLGAME-26OCT12BUFLAR-LAR"
    api.get(f"{MARKETS}/{ticker}", json={"market": nfl_market(ticker)})
    client = make_client(clock, KALSHI_READS_PER_SECOND="2")
    for _ in range(6):
        client.get_market(ticker)
    # Two tokens of burst, then one read every half second.
    assert clock.sleeps == [0.5, 0.5, 0.5, 0.5]


def test_observer_sees_each_request(api, clock):
    seen = []
    api.get(f"{BASE}/exchange/status", json={"exchange_active": True, "trading_active": True})
    client = KalshiClient(load_settings(env={}), clock, lambda *args: seen.append(args[:3]))
    client.get_exchange_status()
    assert seen == [("kalshi", "/trade-api/v2/exchange/status", 200)]


# --- credentials ------------------------------------------------------------------------------------


def verify(private_key: rsa.RSAPrivateKey, headers, method: str, path: str) -> None:
    message = f"{headers['KALSHI-ACCESS-TIMESTAMP']}{method}{path}".encode()
    private_key.public_key().verify(
        base64.b64decode(headers["KALSHI-ACCESS-SIGNATURE"]),
        message,
        padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
        hashes.SHA256(),
    )


def test_requests_are_signed_over_path_without_query(api, clock, private_key, signing_env):
    api.get(MARKETS, json=page("KXNFLGAME-26OCT12BUFLAR-LAR"), match=slate_query("KXNFLGAME"))
    api.get(
        f"{MARKETS}/KXBTCD-26JUL2502-T74299.99/orderbook",
        json=fixture_json("kalshi", "other_series", "kalshi_orderbook.json"),
    )
    client = make_client(clock, **signing_env)
    client.get_markets(series_ticker="KXNFLGAME", status="open")
    client.get_orderbook("KXBTCD-26JUL2502-T74299.99")
    markets, orderbook = (call.request.headers for call in api.calls)
    assert markets["KALSHI-ACCESS-KEY"] == KEY_ID
    assert markets["KALSHI-ACCESS-TIMESTAMP"] == str(int(clock.now().timestamp()) * 1000)
    verify(private_key, markets, "GET", "/trade-api/v2/markets")
    verify(private_key, orderbook, "GET", "/trade-api/v2/markets/KXBTCD-26JUL2502-T74299.99/orderbook")
    with pytest.raises(InvalidSignature):
        verify(private_key, markets, "GET", "/trade-api/v2/markets?series_ticker=KXNFLGAME")
    assert "PRIVATE" not in repr(client.signer)


def test_each_retry_is_signed_afresh(api, clock, private_key, signing_env):
    api.get(f"{BASE}/exchange/status", json=TOO_MANY, status=429)
    api.get(f"{BASE}/exchange/status", json={"exchange_active": True, "trading_active": True})
    make_client(clock, **signing_env).get_exchange_status()
    first, second = (call.request.headers for call in api.calls)
    assert int(second["KALSHI-ACCESS-TIMESTAMP"]) - int(first["KALSHI-ACCESS-TIMESTAMP"]) == 375
    verify(private_key, second, "GET", "/trade-api/v2/exchange/status")


@pytest.mark.parametrize("content, message", [(None, "cannot read"), (b"not a key", "not an unencrypted PEM")])
def test_unusable_private_key_is_a_config_error(clock, tmp_path, content, message):
    path = tmp_path / "key.pem"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ConfigError, match=f"^KALSHI_PRIVATE_KEY_PATH: .*{message}"):
        make_client(clock, KALSHI_API_KEY_ID=KEY_ID, KALSHI_PRIVATE_KEY_PATH=str(path))


def test_legacy_credentials_warn_once_and_public_data_still_works(api, clock, caplog):
    api.get(f"{BASE}/exchange/status", json={"exchange_active": True, "trading_active": True})
    api.get(f"{BASE}/exchange/status", json={"exchange_active": True, "trading_active": True})
    with caplog.at_level(logging.INFO):
        client = make_client(clock, KALSHI_EMAIL="fan@example.com", KALSHI_PASSWORD="hunter2-secret")
        client.get_exchange_status()
        client.get_exchange_status()
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.getMessage() for r in warnings] == [LEGACY_CREDENTIALS_WARNING]
    assert "no longer supports" in LEGACY_CREDENTIALS_WARNING
    assert "KALSHI_API_KEY_ID" in LEGACY_CREDENTIALS_WARNING and "KALSHI_PRIVATE_KEY_PATH" in LEGACY_CREDENTIALS_WARNING
    assert "hunter2-secret" not in caplog.text
    assert not any(h in call.request.headers for call in api.calls for h in SIGNATURE_HEADERS)


def test_a_kalshi_host_that_never_answers_costs_no_more_than_the_deadline():
    # Real sockets and the real clock: the per-try timeout and the deadline are socket timeouts.
    import time

    from nfl_replay.dead_hosts import SilentHost
    from nfl_sync.clock import SystemClock

    with SilentHost() as host:
        env = {
            "KALSHI_BASE_URL": host.base_url("/trade-api/v2"),
            "HTTP_TIMEOUT": "0.4",
            "HTTP_MAX_TRIES": "20",  # without the deadline: 20 tries of 0.4 s and their back-off
            "HTTP_DEADLINE": "1",
        }
        client = KalshiClient(load_settings(env=env), SystemClock(), rng=lambda: 0.5)
        started = time.monotonic()
        with pytest.raises(SourceError, match="timed out"):
            client.get_exchange_status()
        elapsed = time.monotonic() - started
        client.close()
    assert host.connections >= 1
    assert elapsed < 2.5
