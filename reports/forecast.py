"""The September forecast: how many new cards a school will need in the coming school year, and
how good last year's forecast was (docs/domain.md §26, docs/city.md "Who needs a card").

Pure arithmetic over what a school's statistics refresh (reports.statistics) hands in:

- `history`: {school year: {"pupils": active pupils, "first_year": pupils in year 1}}, kept on
  the school's statistics row, the running year's entry rewritten at every refresh (so a past
  year holds its last refresh's numbers);
- `transfers_in`: {school year: pupils the school accepted by transfer from another school of
  the city that year};
- `duplicates`: {school year: duplicate cards applied for that year} (the card facts, which are
  never deleted).

School years run 1 September – 31 August (2026 = 2026/27). The forecast made on day D is for the
school year starting the September after D (the *coming* one):

    intake     = pupils in year 1 in the school year running at D (this year's first classes
                 stand in for next year's: Legitka holds no admissions for the coming year)
    transfers  = transfer rate × pupils at D, the rate = pupils transferred in ÷ pupils, summed
                 over the (up to) two school years before the running one
    duplicates = duplicate rate × pupils at D, the same way
    total      = intake + transfers + duplicates (each rounded half up to whole cards)

Only the past school years Legitka knows something of (a history entry, a transfer, a duplicate)
count; a past year without a recorded pupil count is divided by the running year's pupils.

Last year's forecast is the same function as of the same day a year earlier (29 February → 28
February): it forecast the school year running now, and is compared with what has happened in
it so far — the first classes now, the transfers and duplicates up to today.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import ROUND_HALF_UP
from decimal import Decimal

RATE_YEARS = 2  # past school years the rates are taken from


def running_year(day: dt.date) -> int:
    """The school year running on `day` (1 September – 31 August; 2026 = 2026/27)."""
    return day.year if day.month >= 9 else day.year - 1


def year_label(year: int) -> str:
    return f"{year}/{(year + 1) % 100:02d}"


def a_year_before(day: dt.date) -> dt.date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def whole(value: float) -> int:
    return int(Decimal(str(value)).quantize(Decimal("1"), rounding=ROUND_HALF_UP))


@dataclasses.dataclass(frozen=True)
class Forecast:
    """A forecast of the new cards of school year `year`, made as of `as_of`."""

    year: int
    as_of: dt.date
    pupils: int
    intake: int
    rate_years: tuple[int, ...]
    transfer_rate: float | None  # per pupil per year; None: no past year to take it from
    duplicate_rate: float | None
    transfers: int
    duplicates: int

    @property
    def total(self) -> int:
        return self.intake + self.transfers + self.duplicates

    def to_json(self) -> dict:
        return {**dataclasses.asdict(self), "as_of": self.as_of.isoformat(), "rate_years": list(self.rate_years),
                "total": self.total}


@dataclasses.dataclass(frozen=True)
class Actual:
    """What school year `year` has needed up to `until`: its first classes, the pupils transferred
    in and the duplicates applied for."""

    year: int
    until: dt.date
    intake: int
    transfers: int
    duplicates: int

    @property
    def total(self) -> int:
        return self.intake + self.transfers + self.duplicates

    def to_json(self) -> dict:
        return {**dataclasses.asdict(self), "until": self.until.isoformat(), "total": self.total}


def _years(data: dict) -> dict[int, int]:
    return {int(k): v for k, v in data.items()}


def forecast(as_of: dt.date, history: dict, transfers_in: dict, duplicates: dict) -> Forecast | None:
    """The forecast as of `as_of`, or None when the history has no entry for the school year then
    running (Legitka did not know the school's pupils that year)."""
    history, transfers_in, duplicates = _years(history), _years(transfers_in), _years(duplicates)
    year = running_year(as_of)
    now = history.get(year)
    if now is None:
        return None
    pupils = int(now.get("pupils", 0))
    past = tuple(y for y in range(year - 1, year - 1 - RATE_YEARS, -1)
                 if y in history or transfers_in.get(y) or duplicates.get(y))
    base = sum(int(history[y].get("pupils", 0)) if y in history else pupils for y in past)

    def rate(events: dict[int, int]) -> float | None:
        return sum(events.get(y, 0) for y in past) / base if base else None

    transfer_rate, duplicate_rate = rate(transfers_in), rate(duplicates)
    return Forecast(year=year + 1, as_of=as_of, pupils=pupils, intake=int(now.get("first_year", 0)),
                    rate_years=past, transfer_rate=transfer_rate, duplicate_rate=duplicate_rate,
                    transfers=whole((transfer_rate or 0) * pupils), duplicates=whole((duplicate_rate or 0) * pupils))


def actual(year: int, until: dt.date, history: dict, transfers_in: dict, duplicates: dict) -> Actual:
    entry = _years(history).get(year, {})
    return Actual(year=year, until=until, intake=int(entry.get("first_year", 0)),
                  transfers=int(_years(transfers_in).get(year, 0)), duplicates=int(_years(duplicates).get(year, 0)))


def summary(today: dt.date, history: dict, transfers_in: dict, duplicates: dict) -> dict:
    """What the statistics row keeps: this forecast, last year's and what has happened since."""
    coming = forecast(today, history, transfers_in, duplicates)
    last = forecast(a_year_before(today), history, transfers_in, duplicates)
    running = running_year(today)
    return {"coming": coming.to_json() if coming else None, "last": last.to_json() if last else None,
            "actual": actual(running, today, history, transfers_in, duplicates).to_json()}
