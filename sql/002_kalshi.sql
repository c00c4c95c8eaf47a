-- Kalshi markets, their price snapshots and the play-to-price correlations.
-- Prices are dollars per contract (0-1), stored as numeric, never float.

CREATE TABLE nfl_kalshi_markets (
    ticker        text PRIMARY KEY,
    event_ticker  text NOT NULL,
    series_ticker text NOT NULL,
    title         text,
    status        text NOT NULL,
    market_kind   text,
    away_team     text,
    home_team     text,
    game_date     date,
    team          text,
    line          numeric(6, 2),
    close_time    timestamptz,
    game_id       text REFERENCES nfl_games (game_id) ON DELETE SET NULL,
    first_seen_at timestamptz NOT NULL DEFAULT now(),
    last_updated  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX idx_nfl_kalshi_markets_game ON nfl_kalshi_markets (game_id);
CREATE INDEX idx_nfl_kalshi_markets_event ON nfl_kalshi_markets (event_ticker);

CREATE TABLE nfl_kalshi_prices (
    ticker        text NOT NULL REFERENCES nfl_kalshi_markets (ticker) ON DELETE CASCADE,
    ts            timestamptz NOT NULL,
    yes_bid       numeric(10, 4),
    yes_ask       numeric(10, 4),
    last_price    numeric(10, 4),
    volume        numeric(16, 2),
    open_interest numeric(16, 2),
    game_id       text REFERENCES nfl_games (game_id) ON DELETE SET NULL,
    PRIMARY KEY (ticker, ts)
);
CREATE INDEX idx_nfl_kalshi_prices_game_ts ON nfl_kalshi_prices (game_id, ts);

CREATE TABLE nfl_kalshi_correlations (
    id            bigserial PRIMARY KEY,
    game_id       text NOT NULL REFERENCES nfl_games (game_id) ON DELETE CASCADE,
    play_id       text NOT NULL,
    ticker        text NOT NULL REFERENCES nfl_kalshi_markets (ticker) ON DELETE CASCADE,
    event_type    text NOT NULL,          -- the play's significance, or 'price_spike'
    price_before  numeric(10, 4),
    price_after   numeric(10, 4),
    change_pct    numeric(10, 4),
    impact_level  text NOT NULL CHECK (impact_level IN ('low', 'medium', 'high', 'extreme')),
    seconds_after numeric(10, 3),
    play_time     timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (game_id, play_id, ticker, event_type),
    FOREIGN KEY (game_id, play_id) REFERENCES nfl_plays (game_id, play_id) ON DELETE CASCADE
);
CREATE INDEX idx_nfl_kalshi_corr_event ON nfl_kalshi_correlations (event_type, impact_level);
CREATE INDEX idx_nfl_kalshi_corr_timestamp ON nfl_kalshi_correlations (created_at);
CREATE INDEX idx_nfl_kalshi_corr_game ON nfl_kalshi_correlations (game_id, play_id);
CREATE INDEX idx_nfl_kalshi_corr_ticker ON nfl_kalshi_correlations (ticker);
