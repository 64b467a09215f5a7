"""Which school year a card issued on a given day serves, and so its validity (docs/domain.md §4).

One rule for the card's validity, the hologram's school year, the registry's and the reports'
school years:

- From 1 September to 31 December a card serves the school year starting that September
  (issued 15.10.2026 → 2026/27, valid until 30.09.2027).
- From 1 January until the day before the **cut-over** it serves the school year running now
  (issued 10.03.2026 → 2025/26, valid until 30.09.2026).
- From the cut-over to 31 August it serves the coming school year (issued 20.08.2026 → 2026/27,
  valid until 30.09.2027): the card ordered in summer is for a pupil starting in September.

The cut-over is, by default, the day after classes end (the regulation on organising the school
year: the nearest Friday after 20 June, the Wednesday before it when the Thursday between is a
public holiday, i.e. Corpus Christi). A city may instead set a fixed day and month
(`Organisation.school_year_cutover`, "MM-DD"; "" = the default), between 1 May and 31 August.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from infra import inputs
from infra.db import db
from tenants.tenancy.context import current_tenant
from tenants.tenancy.errors import OperationError
from tenants.tenancy.models import Organisation

VALID_DAY = (9, 30)  # 30 September (docs/domain.md §4)
EARLIEST_CUTOVER = (5, 1)  # a city's own cut-over lies between 1 May …
LATEST_CUTOVER = (8, 31)  # … and 31 August, before the school year it serves begins
FORM_FIELD = "school_year_cutover"


def easter(year: int) -> dt.date:
    """Easter Sunday (Gregorian calendar; the anonymous Gregorian algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    leap = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * leap) // 451
    month, day = divmod(h + leap - 7 * m + 114, 31)
    return dt.date(year, month, day + 1)


def end_of_classes(year: int) -> dt.date:
    """The last day of classes in June of `year`: the nearest Friday after 20 June, or the
    Wednesday before it when the Thursday between is Corpus Christi (Easter + 60 days), the only
    public holiday that can fall there (docs/domain.md §4)."""
    june_20 = dt.date(year, 6, 20)
    friday = june_20 + dt.timedelta(days=(4 - june_20.weekday()) % 7 or 7)  # strictly after 20 June
    if friday - dt.timedelta(days=1) == easter(year) + dt.timedelta(days=60):
        return friday - dt.timedelta(days=2)
    return friday


def cutover(year: int, setting: str = "") -> dt.date:
    """The first day of `year` from which cards serve the coming school year: the city's "MM-DD"
    setting, or ("") the day after classes end."""
    if setting:
        month, _, day = setting.partition("-")
        return dt.date(year, int(month), int(day))
    return end_of_classes(year) + dt.timedelta(days=1)


def school_year_served(day: dt.date, setting: str = "") -> int:
    """The school year (2026 = 2026/27) a card issued on `day` serves, under the city's cut-over
    `setting` ("" = the default rule)."""
    if day.month >= 9 or day >= cutover(day.year, setting):
        return day.year
    return day.year - 1


def valid_until(school_year: int) -> dt.date:
    """A card or hologram for school year Y/Y+1 is valid until 30 September Y+1."""
    return dt.date(school_year + 1, *VALID_DAY)


def city_setting(organisation_id: int | None) -> str:
    """The cut-over setting of a city, or of the city a school belongs to ("" for none)."""
    org = db.session.get(Organisation, organisation_id) if organisation_id else None
    if org is not None and org.kind == "school":
        org = db.session.get(Organisation, org.city_id)
    return (org.school_year_cutover or "") if org is not None and org.kind == "city" else ""


def current_setting() -> str:
    """The cut-over setting for the work's tenant: its school's city, or the city itself ("" for
    a printer or maintenance work, which follow the default rule)."""
    tenant = current_tenant()
    return city_setting(tenant.school_id or tenant.city_id)


# --- the city's form -------------------------------------------------------------------------


def format_setting(setting: str) -> str:
    """"06-15" → "15.06" (how the form shows it); "" stays ""."""
    month, _, day = setting.partition("-")
    return f"{day}.{month}" if day else ""


def parse_setting(value) -> str:
    """The form's text → "MM-DD", or "" for empty text (the default rule). `OperationError` with
    a Polish message for anything that is not a day between 1 May and 31 August ("15.06",
    "15.06.2026" too: the year is not kept, the day applies every year)."""
    text = str(value or "").strip()
    if not text:
        return ""
    parts = text.rstrip(".").replace("-", ".").replace("/", ".").split(".")
    try:
        if len(parts) == 3:  # a whole date (dd.mm.rrrr): its day and month
            typed = inputs.day(text)
            parts = [str(typed.day), str(typed.month)] if typed else []
        if len(parts) != 2 or not all(p.strip().isascii() and p.strip().isdigit() for p in parts):
            raise ValueError
        day, month = int(parts[0]), int(parts[1])
        dt.date(2001, month, day)  # not a leap year: the day must exist every year
        if not EARLIEST_CUTOVER <= (month, day) <= LATEST_CUTOVER:
            raise ValueError
    except (ValueError, inputs.Refused):
        raise OperationError("Dzień rozpoczęcia wydawania legitymacji na następny rok szkolny: podaj dzień i miesiąc "
                             "od 01.05 do 31.08 w formacie dd.mm, np. 15.06, albo zostaw puste.",
                             "invalid_cutover") from None
    return f"{month:02d}-{day:02d}"


def save_city_setting(city_id: int, form: Mapping[str, str]) -> Organisation:
    """Set the city's cut-over from the settings form (field `school_year_cutover`). Flushes."""
    setting = parse_setting(form.get(FORM_FIELD))
    city = db.session.get(Organisation, city_id)
    if city is None or city.kind != "city":
        raise OperationError("Nie ma takiego miasta.", "not_found")
    city.school_year_cutover = setting
    db.session.flush()
    return city
