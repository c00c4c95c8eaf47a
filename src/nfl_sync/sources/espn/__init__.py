"""ESPN's public NFL APIs: the site API (scoreboard, summaries, teams, injuries) and the core API."""
