"""The consultation's summary as the city and the council read it (reports.consultations), worked
out by hand on three answers out of four schools."""

from __future__ import annotations

import datetime as dt

import pytest

from infra import clock
from infra.db import db
from reports import consultations as report
from reports import dashboard
from tenants.consultations import operations
from tenants.tenancy.actors import Actor
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import tenant_scope
from tenants.tenancy.errors import OperationError
from tenants.tenancy.models import Organisation

NOW = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)


def test_the_summary_counts_averages_and_lists_who_has_not_answered(app, world):
    city = world.city()
    schools = [world.school(city, f"Szkoła Podstawowa nr {n}") for n in (1, 2, 3, 4)]
    official = Actor(user_id=None, role="city_official", organisation_id=city)
    # (rating, problems, hours, preference) of schools 1–3; school 4 does not answer.
    given = (("2", ["photos", "delays"], "2,5", "city_order"), ("4", ["photos"], "6", "print_centre"),
             ("5", [], "10", "city_order"))
    with app.app_context(), clock.pinned(NOW):
        with tenant_scope(Tenant(city_id=city)):
            consultation = operations.open_(operations.save(city, official, {"title": "Jak dalej?",
                                                                             "deadline": "15.12.2026"}))
            db.session.commit()
        for school_id, (rating, problems, hours, preference) in zip(schools, given, strict=False):
            with tenant_scope(Tenant(school_id=school_id)):
                director = Actor(user_id=None, role="school_director", organisation_id=school_id)
                operations.answer(director, db.session.get(Organisation, school_id), consultation, {
                    "satisfaction": rating, "problems": problems, "staff_hours": hours, "preference": preference})
                db.session.commit()
        with tenant_scope(Tenant(city_id=city)):
            r = report.result(city, consultation)
            rows = {(q, a): (n, share) for q, a, n, share in report.summary_rows(r)}
            missing = report.missing_table(r).rows
            status = report.status_table(r).rows
    assert rows[("Szkoły, które odpowiedziały", "3 z 4")] == (3, 75.0)
    # ratings 2, 4, 5: one each of 2, 4 and 5 (33.3 % of the 3 answers), mean 11 / 3 = 3.67 → 3.7, median 4
    assert rows[("Ocena obecnego sposobu", "2 — źle")] == (1, 33.3)
    assert rows[("Ocena obecnego sposobu", "3 — przeciętnie")] == (0, 0.0)
    assert rows[("Ocena obecnego sposobu", "średnia")] == (3.7, None)
    assert rows[("Ocena obecnego sposobu", "mediana")] == (4.0, None)
    # preferences: the city-wide order 2 of 3 (66.7 %), the print centre 1 (33.3 %)
    assert rows[("Preferowany sposób na przyszłość", "Wspólne zamówienie miasta u drukarni zewnętrznej")] == (2, 66.7)
    assert rows[("Preferowany sposób na przyszłość", "Miejskie centrum druku")] == (1, 33.3)
    assert rows[("Preferowany sposób na przyszłość", "Nie mam zdania")] == (0, 0.0)
    # problems (several allowed): photos 2 of 3, delays 1 of 3
    assert rows[("Napotkane problemy", "Zdjęcia uczniów (zbieranie, jakość)")] == (2, 66.7)
    assert rows[("Napotkane problemy", "Długi czas oczekiwania na legitymacje")] == (1, 33.3)
    # hours 2.5 + 6 + 10 = 18.5; mean 18.5 / 3 = 6.17 → 6.2; median 6
    assert rows[("Godziny pracy w miesiącu", "razem we wszystkich szkołach")] == (18.5, None)
    assert rows[("Godziny pracy w miesiącu", "średnio na szkołę")] == (6.2, None)
    assert rows[("Godziny pracy w miesiącu", "mediana")] == (6.0, None)
    assert [row[0] for row in missing] == ["Szkoła Podstawowa nr 4"]
    assert [row[:2] for row in status] == [("Szkoła Podstawowa nr 1", "tak"), ("Szkoła Podstawowa nr 2", "tak"),
                                           ("Szkoła Podstawowa nr 3", "tak"), ("Szkoła Podstawowa nr 4", "nie")]


def test_only_the_director_answers_and_only_for_the_own_city(app, world):
    city, other = world.city(), world.city("Miasto Drugie")
    school, foreign = world.school(city), world.school(other, "Szkoła w Drugim")
    with app.app_context(), clock.pinned(NOW):
        with tenant_scope(Tenant(city_id=city)):
            consultation = operations.open_(operations.save(
                city, Actor(user_id=None, role="city_official", organisation_id=city),
                {"title": "Jak dalej?", "deadline": "15.12.2026"}))
            db.session.commit()
            db.session.refresh(consultation)
            db.session.expunge(consultation)  # as the city read it: the other city's school cannot load it
        form = {"satisfaction": "3", "staff_hours": "1", "preference": "no_opinion"}
        with tenant_scope(Tenant(school_id=school)):
            secretary = Actor(user_id=None, role="school_secretary", organisation_id=school)
            with pytest.raises(OperationError, match="^Na konsultację odpowiada dyrektor szkoły.$"):
                operations.answer(secretary, db.session.get(Organisation, school), consultation, form)
        with tenant_scope(Tenant(school_id=foreign)):
            director = Actor(user_id=None, role="school_director", organisation_id=foreign)
            with pytest.raises(OperationError, match="^Ta konsultacja nie dotyczy tej szkoły.$"):
                operations.answer(director, db.session.get(Organisation, foreign), consultation, form)


def test_averages_round_half_up_as_everywhere(app, world):
    """Walk finding 18: hours 12,5 and 6 average (12,5 + 6) / 2 = 9,25, which the project rounds half
    up to 9,3 (Python's round(9.25, 1) gives 9,2); 1 of 16 schools answered is 6,25 % → 6,3 %."""
    city = world.city()
    schools = [world.school(city, f"Szkoła Podstawowa nr {n}") for n in range(1, 17)]
    official = Actor(user_id=None, role="city_official", organisation_id=city)
    with app.app_context(), clock.pinned(NOW):
        with tenant_scope(Tenant(city_id=city)):
            consultation = operations.open_(operations.save(city, official, {"title": "Jak dalej?",
                                                                             "deadline": "15.12.2026"}))
            db.session.commit()
        for school_id, hours in zip(schools, ("12,5", "6"), strict=False):
            with tenant_scope(Tenant(school_id=school_id)):
                director = Actor(user_id=None, role="school_director", organisation_id=school_id)
                operations.answer(director, db.session.get(Organisation, school_id), consultation, {
                    "satisfaction": "3", "staff_hours": hours, "preference": "no_opinion"})
                db.session.commit()
        with tenant_scope(Tenant(city_id=city)):
            rows = {(q, a): (n, share) for q, a, n, share in report.summary_rows(report.result(city, consultation))}
    assert rows[("Godziny pracy w miesiącu", "średnio na szkołę")] == (9.3, None)
    assert rows[("Godziny pracy w miesiącu", "mediana")] == (9.3, None)  # the mean of the middle two, too
    assert rows[("Godziny pracy w miesiącu", "razem we wszystkich szkołach")] == (18.5, None)
    assert rows[("Szkoły, które odpowiedziały", "2 z 16")] == (2, 12.5)  # 2 of 16 = 12,5 % exactly
    # a share on the half: 1 of 16 = 6,25 % → 6,3 %; 1 of 8 = 12,5 % stays; 1 of 3 = 33,33… → 33,3
    assert (dashboard.share(1, 16), dashboard.share(1, 8), dashboard.share(1, 3)) == (6.3, 12.5, 33.3)
