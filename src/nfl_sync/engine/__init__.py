"""The sync engine: the loop that polls the sources, stores what changed and records alerts."""
