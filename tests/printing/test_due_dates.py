"""The printer's due day: calendar days moved off weekends and holidays, or working days
(docs/domain.md §20, rule 7), worked out by hand against the 2026 calendar."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from printing.quotes import Quote


def _quote(ordered_on: dt.date, days: int, *, working: bool) -> Quote:
    return Quote(channel="external", printer_id=1, name="Drukarnia", quantity=1, unit_price=Decimal("10.00"),
                 surcharge_per_card=Decimal("0.00"), shipping=Decimal("0.00"), lead_time_days=days,
                 ordered_on=ordered_on, lead_time_working=working)


@pytest.mark.parametrize(("ordered_on", "days", "working", "due"), [
    # Fri 04.12.2026 + 14 calendar days = Fri 18.12.2026: a working day, stays.
    (dt.date(2026, 12, 4), 14, False, dt.date(2026, 12, 18)),
    # Sat 05.12.2026 + 14 = Sat 19.12.2026 → Mon 21.12.2026 (civil code art. 115).
    (dt.date(2026, 12, 5), 14, False, dt.date(2026, 12, 21)),
    # Fri 11.12.2026 + 14 = Fri 25.12.2026 (Christmas) → Sat 26 (holiday), Sun 27 → Mon 28.12.2026.
    (dt.date(2026, 12, 11), 14, False, dt.date(2026, 12, 28)),
    # Fri 18.12.2026 + 5 working days: Mon 21 (1), Tue 22 (2), Wed 23 (3), Thu 24 is a holiday since
    # 2025, Fri 25 and Sat 26 too, Mon 28 (4), Tue 29 (5).
    (dt.date(2026, 12, 18), 5, True, dt.date(2026, 12, 29)),
    # ZEFO's 21 working days from Thu 23.04.2026: April 24, 27, 28, 29, 30 (5); Fri 1 May holiday;
    # May 4–8 (10), 11–15 (15), 18–22 (20), Mon 25 May (21). Pentecost Sunday (24 May) is a Sunday anyway.
    (dt.date(2026, 4, 23), 21, True, dt.date(2026, 5, 25)),
    # 21 calendar days from the same day: Thu 14.05.2026, a working day.
    (dt.date(2026, 4, 23), 21, False, dt.date(2026, 5, 14)),
    # Across Corpus Christi (Easter 5.04.2026 + 60 = Thu 4.06.2026): Wed 3.06 + 2 working days =
    # Fri 5.06 (1), Mon 8.06 (2).
    (dt.date(2026, 6, 3), 2, True, dt.date(2026, 6, 8)),
    # Across 11 November (Wed in 2026): Tue 10.11 + 1 working day = Thu 12.11.2026.
    (dt.date(2026, 11, 10), 1, True, dt.date(2026, 11, 12)),
])
def test_the_due_day_follows_the_printers_unit_and_the_calendar(ordered_on, days, working, due):
    quote = _quote(ordered_on, days, working=working)
    assert quote.due_date == due
    assert quote.as_dict()["due_date"] == due.isoformat() and quote.as_dict()["lead_time_working"] is working
