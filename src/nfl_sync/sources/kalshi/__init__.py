"""Kalshi's Trade API v2: market data, NFL tickers mapped to ESPN games, optional request signing."""
