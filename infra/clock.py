"""One clock, in the configured zone (Europe/Warsaw): docs/domain.md §16, docs/architecture.md.

Every "today" and "now" in the code comes from here, never from `date.today()` or a naive
`datetime.now()`, which read the host's zone: on a UTC server, between midnight in Warsaw and
midnight UTC, they give yesterday, so an issue date, a "not in the future" check or a school-year
boundary (1 September) would be a day off.

- `today()`: the date in the zone; `now()`: aware, in the zone; `utcnow()`: aware UTC (what the
  database stores, `infra.db.utcnow` reads it); `day_of(timestamp)`: the zone's date of a stored
  timestamp (its `.date()` would be UTC's).
- The zone is the app's `TIMEZONE` setting when there is an app context, else `DEFAULT_ZONE`
  (scripts, benchmarks).
- `pinned(instant)` makes the clock read a fixed instant until the block ends: tests set the time
  with it. It pins the whole process (threads included), not one request.

A test (`tests/infra/test_clock.py`) and ruff's banned-api list refuse `date.today()` elsewhere.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from zoneinfo import ZoneInfo

from flask import current_app
from flask import has_app_context

DEFAULT_ZONE = "Europe/Warsaw"

_pinned: dt.datetime | None = None


def zone() -> ZoneInfo:
    """The configured zone (`TIMEZONE`, default Europe/Warsaw)."""
    name = current_app.config.get("TIMEZONE") if has_app_context() else None
    return ZoneInfo(name or DEFAULT_ZONE)  # ZoneInfo keeps its own cache of zones


def utcnow() -> dt.datetime:
    """Aware UTC now (or the pinned instant)."""
    return _pinned if _pinned is not None else dt.datetime.now(dt.UTC)


def now() -> dt.datetime:
    """Aware now in the configured zone."""
    return utcnow().astimezone(zone())


def today() -> dt.date:
    """Today's date in the configured zone, whatever the host's zone."""
    return now().date()


def day_of(instant: dt.datetime) -> dt.date:
    """The date a stored (aware UTC) timestamp falls on in the configured zone; a naive one is UTC."""
    if instant.tzinfo is None:  # SQLite gives back naive UTC
        instant = instant.replace(tzinfo=dt.UTC)
    return instant.astimezone(zone()).date()


@contextlib.contextmanager
def pinned(instant: dt.datetime) -> Iterator[dt.datetime]:
    """Within the block the clock reads `instant` (aware; a naive one is refused, it names no
    moment). Nested pins restore the outer one."""
    global _pinned
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError("pin the clock with an aware datetime")
    previous, _pinned = _pinned, instant.astimezone(dt.UTC)
    try:
        yield _pinned
    finally:
        _pinned = previous
