-- Views for monitoring and analysis.

CREATE VIEW v_nfl_live_games AS
SELECT g.game_id, g.away_team, g.home_team, g.away_score, g.home_score, g.period, g.clock,
       g.possession, g.down, g.distance, g.yard_line, g.home_win_pct, g.last_play_text,
       g.last_updated
FROM nfl_games g
WHERE g.is_live = true;

-- Sync performance over the last 24 hours, one row per sync type.
CREATE VIEW v_nfl_sync_performance AS
SELECT sync_type,
       count(*)                                                   AS runs,
       count(*) FILTER (WHERE sync_status = 'success')            AS successes,
       count(*) FILTER (WHERE sync_status = 'failed')             AS failures,
       round(100.0 * count(*) FILTER (WHERE sync_status = 'success') / count(*), 1) AS success_rate_pct,
       round(avg(duration_ms))                                    AS avg_duration_ms,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms)  AS p95_duration_ms,
       max(duration_ms)                                           AS max_duration_ms,
       sum(records)                                               AS records,
       max(started_at)                                            AS last_run,
       max(started_at) FILTER (WHERE sync_status = 'failed')      AS last_failure
FROM nfl_data_sync_log
WHERE started_at > now() - interval '24 hours'
GROUP BY sync_type;

-- Where a game-winner market's price differs from ESPN's live win probability. Refreshed with
-- REFRESH MATERIALIZED VIEW CONCURRENTLY (the unique index makes that possible).
CREATE MATERIALIZED VIEW v_nfl_kalshi_opportunities AS
WITH latest AS (
    SELECT DISTINCT ON (p.ticker) p.ticker, p.ts, p.yes_bid, p.yes_ask, p.last_price, p.volume
    FROM nfl_kalshi_prices p
    ORDER BY p.ticker, p.ts DESC
)
SELECT m.ticker, m.game_id, m.team, g.away_team, g.home_team, g.state,
       l.ts AS price_time, l.yes_bid, l.yes_ask, l.last_price, l.volume,
       coalesce((l.yes_bid + l.yes_ask) / 2, l.last_price)                         AS market_prob,
       CASE WHEN m.team = g.home_team THEN g.home_win_pct ELSE 1 - g.home_win_pct END AS espn_prob,
       (CASE WHEN m.team = g.home_team THEN g.home_win_pct ELSE 1 - g.home_win_pct END)
         - coalesce((l.yes_bid + l.yes_ask) / 2, l.last_price)                      AS edge
FROM nfl_kalshi_markets m
JOIN latest l ON l.ticker = m.ticker
JOIN nfl_games g ON g.game_id = m.game_id
WHERE m.market_kind = 'game' AND g.state <> 'post' AND g.home_win_pct IS NOT NULL;
CREATE UNIQUE INDEX idx_v_nfl_kalshi_opportunities_ticker ON v_nfl_kalshi_opportunities (ticker);
