-- Line movement: every change of a bookmaker's line, with when it was seen. nfl_odds keeps only the
-- latest line per provider; a row here is written only when a market's line differs from the
-- latest one stored for the same game, provider and market (storage/games.py, upsert_odds).

CREATE TABLE nfl_odds_history (
    id             bigserial PRIMARY KEY,
    game_id        text NOT NULL REFERENCES nfl_games (game_id) ON DELETE CASCADE,
    provider       text NOT NULL,
    market         text NOT NULL CHECK (market IN ('spread', 'total', 'moneyline')),
    line           numeric(6, 2),            -- spread: the home team's handicap; total: over/under
    home_moneyline integer,                  -- moneyline: American odds
    away_moneyline integer,
    observed_at    timestamptz NOT NULL,
    UNIQUE (game_id, provider, market, observed_at)
);
CREATE INDEX idx_nfl_odds_history_latest ON nfl_odds_history (game_id, provider, market, observed_at DESC);
