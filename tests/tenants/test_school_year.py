"""Which school year a card issued on a day serves, and its validity (docs/domain.md §4): around
the summer cut-over (the day after classes end, or the city's own day) and New Year. Every
expected value below was worked out by hand from a calendar, not by the code under test."""

from __future__ import annotations

import datetime as dt

import pytest

from infra.db import db
from reports.filters import Filters
from tenants.registry import holograms
from tenants.registry import school_year as years
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import tenant_scope
from tenants.tenancy.errors import OperationError
from tenants.tenancy.models import Organisation

D = dt.date

# Last day of classes: the nearest Friday after 20 June; the Wednesday before it when the
# Thursday between is Corpus Christi (Easter + 60 days).
END_OF_CLASSES = [
    (2019, D(2019, 6, 19)),  # 20.06.2019 Thu = Corpus Christi (Easter 21.04) → Wed 19.06, not Fri 21.06
    (2024, D(2024, 6, 21)),  # 20.06.2024 Thu → Fri 21.06 (Corpus Christi 30.05)
    (2025, D(2025, 6, 27)),  # 20.06.2025 is a Friday → the next one, 27.06 ("after 20 June")
    (2026, D(2026, 6, 26)),  # 20.06.2026 Sat → Fri 26.06 (Easter 5.04, Corpus Christi 4.06)
    (2027, D(2027, 6, 25)),  # 20.06.2027 Sun → Fri 25.06 (Easter 28.03, Corpus Christi 27.05)
    (2030, D(2030, 6, 19)),  # Easter 21.04.2030 → Corpus Christi Thu 20.06 → Wed 19.06
]

# day issued, city's setting ("" = default), school year served (2026 = 2026/27), valid until
CASES = [
    # the default cut-over in 2026: classes end Fri 26.06, cut-over Sat 27.06
    (D(2026, 3, 10), "", 2025, D(2026, 9, 30)),
    (D(2026, 6, 25), "", 2025, D(2026, 9, 30)),   # the day before the last day of classes
    (D(2026, 6, 26), "", 2025, D(2026, 9, 30)),   # last day of classes: still this school year
    (D(2026, 6, 27), "", 2026, D(2027, 9, 30)),   # the cut-over: for 2026/27
    (D(2026, 6, 28), "", 2026, D(2027, 9, 30)),
    (D(2026, 8, 20), "", 2026, D(2027, 9, 30)),   # the case: not 30.09.2026
    (D(2026, 8, 31), "", 2026, D(2027, 9, 30)),
    (D(2026, 9, 1), "", 2026, D(2027, 9, 30)),
    # New Year: same school year on both sides
    (D(2026, 12, 31), "", 2026, D(2027, 9, 30)),
    (D(2027, 1, 1), "", 2026, D(2027, 9, 30)),
    # 2027: classes end Fri 25.06, cut-over Sat 26.06
    (D(2027, 6, 25), "", 2026, D(2027, 9, 30)),
    (D(2027, 6, 26), "", 2027, D(2028, 9, 30)),
    # 2030: classes end Wed 19.06 (Corpus Christi Thu 20.06), cut-over Thu 20.06
    (D(2030, 6, 19), "", 2029, D(2030, 9, 30)),
    (D(2030, 6, 20), "", 2030, D(2031, 9, 30)),
    # a city that issues for the coming year from 15 August
    (D(2026, 6, 27), "08-15", 2025, D(2026, 9, 30)),  # after the default day, before the city's
    (D(2026, 8, 14), "08-15", 2025, D(2026, 9, 30)),
    (D(2026, 8, 15), "08-15", 2026, D(2027, 9, 30)),
    (D(2026, 8, 16), "08-15", 2026, D(2027, 9, 30)),
    (D(2026, 9, 1), "08-15", 2026, D(2027, 9, 30)),
    (D(2027, 1, 1), "08-15", 2026, D(2027, 9, 30)),
    # … and one from 1 June (earlier than the default)
    (D(2026, 5, 31), "06-01", 2025, D(2026, 9, 30)),
    (D(2026, 6, 1), "06-01", 2026, D(2027, 9, 30)),
]


@pytest.mark.parametrize(("year", "last_day"), END_OF_CLASSES)
def test_classes_end_on_the_nearest_friday_after_20_june(year, last_day):
    assert years.end_of_classes(year) == last_day
    assert years.cutover(year) == last_day + dt.timedelta(days=1)


@pytest.mark.parametrize(("day", "setting", "school_year", "valid_until"), CASES)
def test_the_school_year_a_card_serves_and_its_validity(day, setting, school_year, valid_until):
    assert years.school_year_served(day, setting) == school_year
    assert years.valid_until(years.school_year_served(day, setting)) == valid_until
    assert holograms.school_year_of(day, setting) == school_year
    assert holograms.valid_until(school_year) == valid_until


def test_a_schools_and_a_citys_work_follow_the_citys_setting(app, world):
    """Without an explicit setting `school_year_of` reads the tenant's city: a school's work and
    the city's own reports agree; a printer follows the default."""
    city = world.city()
    school_id = world.school(city, "Szkoła Letnia")
    printer_id = world.printer([city])
    with app.app_context():
        db.session.get(Organisation, city).school_year_cutover = "08-15"
        db.session.commit()
    for tenant in (Tenant(school_id=school_id), Tenant(city_id=city)):
        with app.app_context(), tenant_scope(tenant):
            assert holograms.school_year_of(D(2026, 8, 14)) == 2025
            assert holograms.school_year_of(D(2026, 8, 15)) == 2026
    with app.app_context(), tenant_scope(Tenant(printer_id=printer_id)):
        assert holograms.school_year_of(D(2026, 6, 27)) == 2026  # the default cut-over
    # The city's hologram report: the school years cards issued in the period serve.
    with app.app_context(), tenant_scope(Tenant(city_id=city)):
        assert Filters(D(2025, 9, 1), D(2026, 8, 31)).school_years() == (2025, 2026)
        assert Filters(D(2025, 9, 1), D(2026, 8, 14)).school_years() == (2025, 2025)


@pytest.mark.parametrize(("typed", "stored"), [
    ("15.08", "08-15"), ("1.6", "06-01"), (" 01.05 ", "05-01"), ("31.08", "08-31"), ("15.06.2026", "06-15"),
    ("15-06", "06-15"), ("", ""), ("  ", ""),
])
def test_the_city_types_a_day_and_month(typed, stored):
    assert years.parse_setting(typed) == stored
    assert years.format_setting(stored) == (f"{stored[3:]}.{stored[:2]}" if stored else "")


@pytest.mark.parametrize("typed", [
    "30.04", "01.09", "31.06", "29.02", "0.06", "15", "15.06.20260", "jutro", "15.O6", "１５.０６", "15.06.2026.1",
    "31.02.2026", "15.06; DROP TABLE",
])
def test_a_day_outside_may_to_august_or_no_day_is_refused(typed):
    with pytest.raises(OperationError, match="od 01.05 do 31.08"):
        years.parse_setting(typed)
