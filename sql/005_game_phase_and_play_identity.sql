-- Issue 14: a game's phase (ESPN's status name read with `completed`), and plays ESPN dropped.

-- What ESPN's status says of a game: scheduled, in_progress, halftime, end_of_period, delayed,
-- suspended, postponed, canceled, final, final_ot. `state` follows it: a postponed game is 'pre'
-- (ESPN says "post"), a canceled one 'post', and only a final phase is kept against later rows.
ALTER TABLE nfl_games ADD COLUMN phase text;
UPDATE nfl_games SET phase = CASE
    WHEN status = 'STATUS_POSTPONED' THEN 'postponed'
    WHEN status IN ('STATUS_CANCELED', 'STATUS_CANCELLED') THEN 'canceled'
    WHEN status = 'STATUS_SUSPENDED' THEN 'suspended'
    WHEN status IN ('STATUS_DELAYED', 'STATUS_RAIN_DELAY', 'STATUS_WEATHER_DELAY') THEN 'delayed'
    WHEN status IN ('STATUS_HALFTIME') THEN 'halftime'
    WHEN status IN ('STATUS_END_PERIOD', 'STATUS_END_OF_REGULATION') THEN 'end_of_period'
    WHEN status IN ('STATUS_FINAL_OVERTIME', 'STATUS_FINAL_OT') THEN 'final_ot'
    WHEN state = 'post' THEN 'final'
    WHEN state = 'in' THEN 'in_progress'
    ELSE 'scheduled'
END;
UPDATE nfl_games SET state = 'pre', is_live = false WHERE phase = 'postponed';
ALTER TABLE nfl_games ALTER COLUMN phase SET NOT NULL;
ALTER TABLE nfl_games ADD CONSTRAINT nfl_games_phase_check CHECK (phase IN (
    'scheduled', 'in_progress', 'halftime', 'end_of_period', 'delayed', 'suspended', 'postponed',
    'canceled', 'final', 'final_ot'));

-- A play ESPN no longer lists (renumbered under a new id, or taken back) is kept for history and
-- marked; it comes back to life if ESPN lists it again.
ALTER TABLE nfl_plays ADD COLUMN deleted_at timestamptz;

-- The plays as ESPN lists them now: what reports and analysis should read.
CREATE VIEW v_nfl_plays AS
SELECT * FROM nfl_plays WHERE deleted_at IS NULL;
