"""The upstream APIs: one HTTP layer, one module per source, JSON parsed into domain records.

`NFLDataFetcher` (ESPN, weather, odds) and `KalshiClient` are the faces the engine uses.
"""
