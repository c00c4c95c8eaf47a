-- Issue 17 (part E): edge alerts, the opportunities view as of each price's moment, and the top
-- of the order book stored beside the price snapshots of game-winner markets.

INSERT INTO nfl_alert_triggers (alert_type) VALUES ('edge') ON CONFLICT (alert_type) DO NOTHING;

-- The best levels of a game-winner market's book (bids of each side, best first; a YES ask is
-- 1 - a NO bid), read when the market was an edge candidate. Keyed like its snapshot and deleted
-- with it, so it shares the snapshots' retention.
CREATE TABLE nfl_kalshi_orderbook (
    ticker    text NOT NULL,
    ts        timestamptz NOT NULL,
    yes_price numeric(10, 4)[] NOT NULL,
    yes_size  numeric(16, 2)[] NOT NULL,
    no_price  numeric(10, 4)[] NOT NULL,
    no_size   numeric(16, 2)[] NOT NULL,
    PRIMARY KEY (ticker, ts),
    FOREIGN KEY (ticker, ts) REFERENCES nfl_kalshi_prices (ticker, ts) ON DELETE CASCADE
);

-- One row per game-winner market: its newest price against ESPN's win probability of its team
-- as of that price (the latest entry of a play at or before the price's time), `edge` in dollars
-- (positive: the market is cheaper than ESPN says). `state` tells the games still on from the
-- finished ones. Refreshed CONCURRENTLY every minute while games are live and at each final.
DROP MATERIALIZED VIEW v_nfl_kalshi_opportunities;
CREATE MATERIALIZED VIEW v_nfl_kalshi_opportunities AS
SELECT m.ticker, m.game_id, m.team, g.away_team, g.home_team, g.state,
       l.ts AS price_time, l.yes_bid, l.yes_ask, l.last_price, l.volume,
       coalesce((l.yes_bid + l.yes_ask) / 2, l.last_price) AS market_prob,
       w.play_id AS espn_play_id, w.wallclock AS espn_time,
       CASE WHEN m.team = g.home_team THEN w.home_win_pct ELSE 1 - w.home_win_pct END AS espn_prob,
       (CASE WHEN m.team = g.home_team THEN w.home_win_pct ELSE 1 - w.home_win_pct END)
         - coalesce((l.yes_bid + l.yes_ask) / 2, l.last_price) AS edge
FROM nfl_kalshi_markets m
JOIN nfl_games g ON g.game_id = m.game_id
CROSS JOIN LATERAL (
    SELECT p.ts, p.yes_bid, p.yes_ask, p.last_price, p.volume
    FROM nfl_kalshi_prices p
    WHERE p.ticker = m.ticker
    ORDER BY p.ts DESC
    LIMIT 1
) l
CROSS JOIN LATERAL (
    SELECT wp.play_id, wp.home_win_pct, pl.wallclock
    FROM nfl_plays pl
    JOIN nfl_win_probability wp ON wp.game_id = pl.game_id AND wp.play_id = pl.play_id
    WHERE pl.game_id = m.game_id AND pl.deleted_at IS NULL AND pl.wallclock <= l.ts
    ORDER BY pl.sequence_number DESC
    LIMIT 1
) w
WHERE m.market_kind = 'game' AND m.series_ticker = 'KXNFLGAME' AND m.team IN (g.home_team, g.away_team);
-- REFRESH ... CONCURRENTLY needs a unique index on plain columns covering every row.
CREATE UNIQUE INDEX idx_v_nfl_kalshi_opportunities_ticker ON v_nfl_kalshi_opportunities (ticker);
