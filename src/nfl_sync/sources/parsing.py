"""Shared building blocks of the pure JSON parsers (ESPN, weather, odds).

Upstream payloads change shape between seasons and states: numbers arrive as strings or floats,
optional blocks come and go. The rule every parser follows: a field that identifies a record (an
id, a team, a status) must be there or the parser raises `ParseError`; anything else that is
missing or of the wrong type becomes None. Nothing here does I/O or reads a clock.
Objects are checked with `dict` (what `json` produces), not `typing.Mapping`, which is several
times slower per check and parsing a game makes tens of thousands of them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from nfl_sync.domain.errors import ParseError

T = TypeVar("T")
# Takes a part of a document that does not parse (one play, one optional section), so the parser
# can leave it out and go on; None means such a part fails the whole document.
OnBadPart = Callable[[ParseError], None] | None


def skip_or_raise(error: ParseError, on_bad_part: OnBadPart) -> None:
    """Hand `error` to `on_bad_part`, after which the caller skips the part; raise it without one."""
    if on_bad_part is None:
        raise error
    on_bad_part(error)


def require_dict(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise ParseError(f"{where}: expected an object, got {_kind(value)}")
    return value


def require_list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise ParseError(f"{where}: expected a list, got {_kind(value)}")
    return value


def optional(value: Any, kind: type[T], where: str) -> T | None:
    """An optional part that must be a `kind` (dict or list) when present: None when absent or null."""
    if value is None or isinstance(value, kind):
        return value
    raise ParseError(f"{where}: expected {'an object' if kind is dict else 'a list'}, got {_kind(value)}")


def as_dict(value: Any) -> Mapping[str, Any]:
    """An optional object: anything that is not one reads as empty."""
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    """An optional list: anything that is not one reads as empty."""
    return value if isinstance(value, list) else []


def dicts(value: Any) -> list[Mapping[str, Any]]:
    """The objects of an optional list, skipping entries of any other type."""
    return [item for item in as_list(value) if isinstance(item, dict)]


def to_str(value: Any) -> str | None:
    """Text or an id: strings as they are (stripped, empty is None), ints as decimal text."""
    if isinstance(value, str):
        value = value.strip()
        return value or None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def require_str(value: Any, where: str) -> str:
    text = to_str(value)
    if text is None:
        raise ParseError(f"{where}: expected a non-empty string or id, got {_kind(value)}")
    return text


def to_int(value: Any) -> int | None:
    """An integer from an int, an integral float ("7.0" style) or numeric text; else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    number = to_decimal(value)
    if number is None or number != number.to_integral_value():
        return None
    return int(number)


def to_decimal(value: Any, places: int | None = None) -> Decimal | None:
    """A Decimal from an int, float or numeric text; None for anything else or non-finite values.

    Floats go through `repr` so 0.1 stays 0.1; `places` rounds away float noise such as
    0.07599999999999996.
    """
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        text = repr(value)
    elif isinstance(value, str):
        text = value.strip().replace(",", "")
        if text.startswith("+"):
            text = text[1:]
    else:
        return None
    try:
        number = Decimal(text)
    except (InvalidOperation, ValueError):
        return None
    if not number.is_finite():
        return None
    if places is not None:
        number = round(number, places).normalize()
        # normalize() writes 100 as 1E+2; keep plain integers plain.
        exponent = number.as_tuple().exponent  # an int for a finite number
        if isinstance(exponent, int) and exponent > 0:
            number = number.quantize(Decimal(1))
    return number


def to_datetime(value: Any) -> datetime | None:
    """A timezone-aware UTC datetime from ISO 8601 text ("2025-09-07T17:00Z") or Unix seconds."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        try:
            return datetime.fromtimestamp(value, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def to_bool(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    return type(value).__name__
