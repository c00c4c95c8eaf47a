-- Games, plays and the game-side data around them. All times are timestamptz (UTC).

CREATE TABLE nfl_games (
    game_id        text PRIMARY KEY,
    season         integer,
    season_type    smallint,
    week           smallint,
    start_time     timestamptz,
    home_team      text NOT NULL,
    away_team      text NOT NULL,
    home_team_id   text,
    away_team_id   text,
    home_score     integer,
    away_score     integer,
    status         text NOT NULL,
    state          text NOT NULL CHECK (state IN ('pre', 'in', 'post')),
    period         smallint,
    clock          text,
    possession     text,
    down           smallint,
    distance       smallint,
    yard_line      smallint,
    is_live        boolean NOT NULL DEFAULT false,
    venue_id       text,
    venue_name     text,
    venue_city     text,
    venue_state    text,
    venue_indoor   boolean,
    neutral_site   boolean,
    last_play_id   text,
    last_play_text text,
    home_win_pct   numeric(7, 6),
    created_at     timestamptz NOT NULL DEFAULT now(),
    last_updated   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX idx_nfl_games_live ON nfl_games (game_id) WHERE is_live = true;
CREATE INDEX idx_nfl_games_status ON nfl_games (status);
CREATE INDEX idx_nfl_games_time ON nfl_games (start_time);

CREATE TABLE nfl_plays (
    game_id         text NOT NULL REFERENCES nfl_games (game_id) ON DELETE CASCADE,
    play_id         text NOT NULL,
    sequence_number integer NOT NULL,
    period          smallint,
    clock           text,
    type            text,
    text            text,
    yards           integer,
    team            text,
    scoring_play    boolean NOT NULL DEFAULT false,
    score_value     smallint NOT NULL DEFAULT 0,
    scoring_type    text,
    home_score      integer,
    away_score      integer,
    is_turnover     boolean NOT NULL DEFAULT false,
    significance    text[] NOT NULL DEFAULT '{}',
    drive_id        text,
    down            smallint,
    distance        smallint,
    yard_line       smallint,
    wallclock       timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (game_id, play_id)
);
CREATE INDEX idx_nfl_plays_sequence ON nfl_plays (game_id, sequence_number);
CREATE INDEX idx_nfl_plays_scoring ON nfl_plays (game_id, sequence_number) WHERE scoring_play = true;

CREATE TABLE nfl_win_probability (
    game_id      text NOT NULL,
    play_id      text NOT NULL,
    home_win_pct numeric(7, 6) NOT NULL,
    tie_pct      numeric(7, 6),
    PRIMARY KEY (game_id, play_id),
    FOREIGN KEY (game_id, play_id) REFERENCES nfl_plays (game_id, play_id) ON DELETE CASCADE
);

CREATE TABLE nfl_player_stats (
    game_id    text NOT NULL REFERENCES nfl_games (game_id) ON DELETE CASCADE,
    player_id  text NOT NULL,
    category   text NOT NULL,
    player     text NOT NULL,
    team       text,
    stats      jsonb NOT NULL DEFAULT '{}',
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (game_id, player_id, category)
);

CREATE TABLE nfl_injuries (
    id            bigserial PRIMARY KEY,
    player_key    text NOT NULL,          -- ESPN athlete id, or the name when ESPN gives none
    player_id     text,
    player        text NOT NULL,
    team          text NOT NULL,
    position      text,
    status        text NOT NULL,
    injury        text,
    reported_at   timestamptz,
    report_date   date NOT NULL,
    return_date   text,
    game_id       text REFERENCES nfl_games (game_id) ON DELETE SET NULL,
    first_seen_at timestamptz NOT NULL DEFAULT now(),
    last_seen_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (player_key, status, report_date)
);
CREATE INDEX idx_nfl_injuries_game ON nfl_injuries (game_id);
CREATE INDEX idx_nfl_injuries_team_status ON nfl_injuries (team, status);

CREATE TABLE nfl_weather (
    game_id                   text NOT NULL REFERENCES nfl_games (game_id) ON DELETE CASCADE,
    source                    text NOT NULL,
    forecast_time             timestamptz,
    temperature_f             numeric(6, 2),
    wind_mph                  numeric(6, 2),
    gust_mph                  numeric(6, 2),
    precipitation_in          numeric(6, 3),
    precipitation_probability numeric(5, 2),
    condition                 text,
    roof                      text,
    fetched_at                timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (game_id, source)
);

CREATE TABLE nfl_odds (
    game_id        text NOT NULL REFERENCES nfl_games (game_id) ON DELETE CASCADE,
    provider       text NOT NULL,
    home_team      text NOT NULL,
    away_team      text NOT NULL,
    commence_time  timestamptz,
    spread         numeric(6, 2),
    over_under     numeric(6, 2),
    home_moneyline integer,
    away_moneyline integer,
    details        text,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (game_id, provider)
);
