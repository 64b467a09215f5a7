"""Polish public holidays and working days, for deadlines counted in days (docs/domain.md §20).

- `public_holidays(year)`: the days off by law (ustawa o dniach wolnych od pracy): 1 and 6 January,
  Easter Sunday and Monday, 1 and 3 May, Pentecost Sunday, Corpus Christi, 15 August, 1 and 11
  November, 24 December (from 2025 only), 25 and 26 December. Easter is the Gregorian computus.
- `is_working_day(day)`: Monday to Friday and not a public holiday. A holiday on a Saturday moves
  nothing: the day an employer gives off for it is each employer's choice, not a calendar fact.
- `add_working_days(day, n)`: the n-th working day after `day` (`day` itself never counts, like
  a deadline in the administrative code, art. 57 § 1 KPA).
- `add_days(day, n)`: `day` plus n calendar days; when that falls on a day that is not a working
  day, the next working day (art. 57 § 5 KPA: the school is closed then).

Pure functions of dates: no clock, no database, no app.
"""

from __future__ import annotations

import datetime as dt
import functools

WIGILIA_FROM = 2025  # 24 December: a public holiday by the act of 6 December 2024, in force 1 February 2025


def easter_sunday(year: int) -> dt.date:
    """Easter Sunday in the Gregorian calendar (the anonymous Gregorian computus, Meeus/Jones/Butcher)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    l = (32 + 2 * e + 2 * i - h - k) % 7  # noqa: E741 - the computus's own letter
    m = (a + 11 * h + 22 * l) // 451
    month, day = divmod(h + l - 7 * m + 114, 31)
    return dt.date(year, month, day + 1)


@functools.cache
def public_holidays(year: int) -> dict[dt.date, str]:
    """The year's public holidays, {day: Polish name}, for the law as it stands (2011 onwards:
    6 January from 2011, 24 December from 2025)."""
    easter = easter_sunday(year)
    days = {
        dt.date(year, 1, 1): "Nowy Rok",
        dt.date(year, 1, 6): "Święto Trzech Króli",
        easter: "Wielkanoc",
        easter + dt.timedelta(days=1): "Poniedziałek Wielkanocny",
        dt.date(year, 5, 1): "Święto Pracy",
        dt.date(year, 5, 3): "Święto Konstytucji 3 Maja",
        easter + dt.timedelta(days=49): "Zielone Świątki",
        easter + dt.timedelta(days=60): "Boże Ciało",
        dt.date(year, 8, 15): "Wniebowzięcie NMP",
        dt.date(year, 11, 1): "Wszystkich Świętych",
        dt.date(year, 11, 11): "Narodowe Święto Niepodległości",
        dt.date(year, 12, 25): "Boże Narodzenie (pierwszy dzień)",
        dt.date(year, 12, 26): "Boże Narodzenie (drugi dzień)",
    }
    if year >= WIGILIA_FROM:
        days[dt.date(year, 12, 24)] = "Wigilia Bożego Narodzenia"
    return days


def is_holiday(day: dt.date) -> bool:
    return day in public_holidays(day.year)


def is_working_day(day: dt.date) -> bool:
    """Monday to Friday and not a public holiday."""
    return day.weekday() < 5 and not is_holiday(day)


def next_working_day(day: dt.date) -> dt.date:
    """`day` itself when it is a working day, else the first working day after it."""
    while not is_working_day(day):
        day += dt.timedelta(days=1)
    return day


def add_working_days(day: dt.date, n: int) -> dt.date:
    """The n-th working day after `day` (n ≥ 0; 0 gives `day`). `day` itself is not counted."""
    if n < 0:
        raise ValueError("count working days forward only")
    while n:
        day += dt.timedelta(days=1)
        if is_working_day(day):
            n -= 1
    return day


def add_days(day: dt.date, n: int) -> dt.date:
    """`day` plus n calendar days, moved on to the next working day when it falls on a weekend
    or a public holiday (n ≥ 0)."""
    if n < 0:
        raise ValueError("count days forward only")
    return next_working_day(day + dt.timedelta(days=n))
