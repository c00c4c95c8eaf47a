-- Retention: raw price snapshots are rolled up into 1-minute candles (kept for ever) before they
-- are pruned; the sync log and the snapshots are pruned by age in small batches (engine/periodic.py).

CREATE TABLE nfl_kalshi_candles (
    ticker    text NOT NULL REFERENCES nfl_kalshi_markets (ticker) ON DELETE CASCADE,
    minute    timestamptz NOT NULL,            -- start of the minute (UTC)
    open      numeric,                         -- mid (bid/ask midpoint, else last trade), dollars
    high      numeric,
    low       numeric,
    close     numeric,
    volume    numeric(16, 2),                  -- cumulative contracts traded, as of the minute's last snapshot
    snapshots integer NOT NULL,                -- raw snapshots the candle was built from
    game_id   text REFERENCES nfl_games (game_id) ON DELETE SET NULL,
    PRIMARY KEY (ticker, minute)
);
CREATE INDEX idx_nfl_kalshi_candles_game_minute ON nfl_kalshi_candles (game_id, minute);

-- Both tables are written in time order: a BRIN index finds the old rows (and a roll-up's window)
-- for a few pages of index, and costs the inserts almost nothing.
CREATE INDEX idx_nfl_kalshi_prices_ts_brin ON nfl_kalshi_prices USING brin (ts);
CREATE INDEX idx_nfl_data_sync_log_started_brin ON nfl_data_sync_log USING brin (started_at);
