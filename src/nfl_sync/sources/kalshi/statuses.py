"""Kalshi's market statuses, and the mapping from the vocabulary of responses to the one the
`status` query filter takes. Pure.
"""

from __future__ import annotations

# Statuses a market carries in responses, and the values the `status` query filter takes; the
# two vocabularies differ (docs.kalshi.com/getting_started/market_lifecycle).
RESPONSE_STATUSES = frozenset(
    ("initialized", "inactive", "active", "closed", "determined", "disputed", "amended", "finalized")
)
FILTER_STATUSES = ("unopened", "open", "paused", "closed", "settled")
_FILTER_OF_RESPONSE = {
    "initialized": "unopened",
    "active": "open",
    "inactive": "paused",
    # "closed" matches any market past close_time that is not finalized yet.
    "closed": "closed",
    "determined": "closed",
    "disputed": "closed",
    "amended": "closed",
    "finalized": "settled",
}


def filter_status(status: str) -> str:
    """The `status` query-filter value for `status` given in either vocabulary ("active" -> "open")."""
    value = status.strip().lower()
    if value in FILTER_STATUSES:
        return value
    if value in _FILTER_OF_RESPONSE:
        return _FILTER_OF_RESPONSE[value]
    raise ValueError(f"unknown Kalshi market status {status!r}; use one of {', '.join(FILTER_STATUSES)}")


def response_statuses(status: str) -> frozenset[str]:
    """The response statuses a filter value (or a response status) stands for ("open" -> {"active"})."""
    wanted = filter_status(status)
    return frozenset(name for name, value in _FILTER_OF_RESPONSE.items() if value == wanted)
