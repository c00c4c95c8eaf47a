"""ESPN's public NFL APIs: the site API (scoreboard, summaries, teams, injuries) and the core API.

One pure parser module per payload (`scoreboard`, `summary` with its `plays`, `injuries`,
`teams`), sharing `common`, and one HTTP client per API (`site`, `core`). The parsers handle the
quirks documented in tests/fixtures/espn/README.md: scores as strings, clocks as int or float,
two linescore shapes, optional season/week, plays only inside drives, a drive id on the first
win-probability entry, unreliable `yardsToEndzone`, "50" at midfield, events reordered between
polls. Team abbreviations come out canonical (`teams.resolve`). Anything malformed raises
`ParseError` (a ValueError) naming the field, never KeyError/TypeError/AttributeError.
"""
