"""Working-day deadlines across Easter, 1–3 May, Corpus Christi and 11 November (docs/domain.md §20).

Every expected day below was worked out by hand on a calendar, the count written next to it;
none is computed by the code under test.
"""

from __future__ import annotations

import datetime as dt

import pytest

from infra import holidays

D = dt.date


@pytest.mark.parametrize(("year", "easter", "corpus_christi"), [
    (2025, D(2025, 4, 20), D(2025, 6, 19)),
    (2026, D(2026, 4, 5), D(2026, 6, 4)),
    (2027, D(2027, 3, 28), D(2027, 5, 27)),
])
def test_movable_feasts(year, easter, corpus_christi):
    days = holidays.public_holidays(year)
    assert holidays.easter_sunday(year) == easter
    assert days[easter + dt.timedelta(days=1)] == "Poniedziałek Wielkanocny"
    assert days[corpus_christi] == "Boże Ciało" and corpus_christi.weekday() == 3  # always a Thursday
    assert days[easter + dt.timedelta(days=49)] == "Zielone Świątki"


def test_the_2026_calendar_in_full():
    assert sorted(holidays.public_holidays(2026)) == [
        D(2026, 1, 1), D(2026, 1, 6), D(2026, 4, 5), D(2026, 4, 6), D(2026, 5, 1), D(2026, 5, 3), D(2026, 5, 24),
        D(2026, 6, 4), D(2026, 8, 15), D(2026, 11, 1), D(2026, 11, 11), D(2026, 12, 24), D(2026, 12, 25),
        D(2026, 12, 26)]


def test_christmas_eve_is_a_holiday_from_2025_only():
    assert not holidays.is_holiday(D(2024, 12, 24))  # a Tuesday, a working day then
    assert holidays.is_working_day(D(2024, 12, 24))
    assert holidays.is_holiday(D(2025, 12, 24)) and not holidays.is_working_day(D(2025, 12, 24))
    assert len(holidays.public_holidays(2024)) == 13 and len(holidays.public_holidays(2025)) == 14


def test_easter():
    # Thu 2 Apr 2026 + 3: Fri 3 Apr (1), [Sat, Sun 5 Easter, Mon 6 Easter Monday], Tue 7 (2), Wed 8 (3).
    assert holidays.add_working_days(D(2026, 4, 2), 3) == D(2026, 4, 8)
    # ZEFO's 21 working days from Mon 16 Mar 2026: 17–20 Mar (4), 23–27 (9), 30 Mar–3 Apr (14),
    # [Easter Monday 6 Apr], 7–10 Apr (18), 13, 14, 15 Apr (21).
    assert holidays.add_working_days(D(2026, 3, 16), 21) == D(2026, 4, 15)
    # Easter 2027 is 28 March: Fri 26 Mar + 1 skips the weekend and Easter Monday 29 Mar -> Tue 30 Mar.
    assert holidays.add_working_days(D(2027, 3, 26), 1) == D(2027, 3, 30)
    # Easter 2025 (20 April): Thu 17 Apr + 2: Fri 18 (1; Good Friday is a working day), [Mon 21], Tue 22 (2).
    assert holidays.add_working_days(D(2025, 4, 17), 2) == D(2025, 4, 22)


def test_first_to_third_of_may():
    # 2025: Thu 1 May holiday, Fri 2 May a working day, Sat 3 May (a Saturday holiday moves nothing).
    # Wed 30 Apr + 2: [Thu 1], Fri 2 (1), [Sat 3, Sun 4], Mon 5 (2).
    assert holidays.add_working_days(D(2025, 4, 30), 2) == D(2025, 5, 5)
    # 2026: Fri 1 May, Sat 2, Sun 3 May. Thu 30 Apr + 1 -> Mon 4 May.
    assert holidays.add_working_days(D(2026, 4, 30), 1) == D(2026, 5, 4)
    # 2027: Sat 1 May, Sun 2, Mon 3 May. Fri 30 Apr + 1 -> Tue 4 May.
    assert holidays.add_working_days(D(2027, 4, 30), 1) == D(2027, 5, 4)
    # 30 calendar days from Fri 10 Apr 2026 is Sun 10 May: moved to Mon 11 May.
    assert holidays.add_days(D(2026, 4, 10), 30) == D(2026, 5, 11)
    # 14 calendar days from Sat 18 Apr 2026 is Sat 2 May: moved past Sun 3 May to Mon 4 May.
    assert holidays.add_days(D(2026, 4, 18), 14) == D(2026, 5, 4)


def test_corpus_christi():
    # Wed 3 Jun 2026 + 1: [Thu 4 Jun Corpus Christi] -> Fri 5 Jun.
    assert holidays.add_working_days(D(2026, 6, 3), 1) == D(2026, 6, 5)
    # 14 calendar days from Thu 21 May 2026 is Thu 4 Jun, Corpus Christi: moved to Fri 5 Jun.
    assert holidays.add_days(D(2026, 5, 21), 14) == D(2026, 6, 5)
    # 21 working days from Thu 21 May 2026: 22 May (1), 25–29 (6), 1–3 Jun (9), [4 Jun], 5 Jun (10),
    # 8–12 (15), 15–19 (20), Mon 22 Jun (21).
    assert holidays.add_working_days(D(2026, 5, 21), 21) == D(2026, 6, 22)
    # 2027: Corpus Christi Thu 27 May. Tue 25 May + 5: 26 (1), [27], 28 (2), 31 (3), 1 Jun (4), 2 Jun (5).
    assert holidays.add_working_days(D(2027, 5, 25), 5) == D(2027, 6, 2)


def test_eleventh_of_november():
    # 2026: Wed 11 Nov. The 5-working-day notice from a delivery on Mon 9 Nov: Tue 10 (1), [Wed 11],
    # Thu 12 (2), Fri 13 (3), Mon 16 (4), Tue 17 (5).
    assert holidays.add_working_days(D(2026, 11, 9), 5) == D(2026, 11, 17)
    # 14 calendar days from Wed 28 Oct 2026 is Wed 11 Nov: moved to Thu 12 Nov.
    assert holidays.add_days(D(2026, 10, 28), 14) == D(2026, 11, 12)
    # 2025: Tue 11 Nov; Mon 10 Nov (a "bridge" many take off) is a working day. Fri 7 Nov + 2: Mon 10 (1), Wed 12 (2).
    assert holidays.add_working_days(D(2025, 11, 7), 2) == D(2025, 11, 12)
    # 2027: Thu 11 Nov, 1 Nov a Monday. Fri 29 Oct + 5: [Mon 1 Nov], 2, 3, 4, 5 (4), Mon 8 (5).
    assert holidays.add_working_days(D(2027, 10, 29), 5) == D(2027, 11, 8)


def test_christmas_and_new_year():
    # Tue 23 Dec 2025 + 5: [24, 25, 26 Dec], 29 (1), 30 (2), 31 (3), [1 Jan], Fri 2 Jan (4), Mon 5 Jan (5).
    assert holidays.add_working_days(D(2025, 12, 23), 5) == D(2026, 1, 5)
    # ... and one more passes Epiphany, Tue 6 Jan 2026: Wed 7 Jan.
    assert holidays.add_working_days(D(2025, 12, 23), 6) == D(2026, 1, 7)


def test_the_start_day_never_counts_and_counts_go_forward():
    assert holidays.add_working_days(D(2026, 11, 11), 0) == D(2026, 11, 11)
    assert holidays.add_working_days(D(2026, 11, 11), 1) == D(2026, 11, 12)  # a holiday start: next day is the 1st
    assert holidays.add_days(D(2026, 3, 2), 0) == D(2026, 3, 2)
    assert holidays.next_working_day(D(2026, 4, 4)) == D(2026, 4, 7)  # Sat before Easter -> Tue
    with pytest.raises(ValueError):
        holidays.add_working_days(D(2026, 1, 2), -1)
    with pytest.raises(ValueError):
        holidays.add_days(D(2026, 1, 2), -1)
