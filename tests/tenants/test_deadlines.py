"""Promised days and overdue applications through the real models (docs/domain.md §20): the
clock is pinned, the application and photo go through the real operations, and the expected
days are worked out by hand (tests/infra/test_holidays.py has the counting itself)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from infra import clock
from infra.db import db
from tenants.pupils import applications
from tenants.pupils import deadlines
from tenants.tenancy.actors import Actor
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import tenant_scope
from tenants.tenancy.errors import OperationError
from tenants.tenancy.models import Organisation
from tests.helpers import add_pupil
from tests.helpers import store_photo

WARSAW = ZoneInfo("Europe/Warsaw")


def at(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=WARSAW)


@pytest.fixture
def school(app, two_schools):
    school_id = two_schools["a"]
    actor = Actor(user_id=two_schools["director_a"], role="school_director", organisation_id=school_id)
    with app.app_context(), tenant_scope(Tenant(school_id=school_id)):
        yield actor, db.session.get(Organisation, school_id)


def test_the_default_is_thirty_calendar_days_and_a_five_day_notice(school):
    _actor, org = school
    assert (org.promise_days, org.promise_working_days, org.notice_working_days) == (30, False, 5)


def test_toruns_fourteen_days_over_corpus_christi_then_zefos_twenty_one_working_days(school):
    actor, org = school
    deadlines.set_procedure(actor, org, days="14", unit="calendar", notice="5")
    with clock.pinned(at(dt.date(2026, 5, 21))):  # Thursday
        pupil = add_pupil(actor)
        store_photo(actor, org, pupil)
        application = applications.create_application(actor, pupil, school=org)
        db.session.flush()
        promise = deadlines.promise_of(org, application)
    # 21 May + 14 = Thu 4 June 2026, Corpus Christi: due Fri 5 June.
    assert promise == deadlines.Promise(start=dt.date(2026, 5, 21), due=dt.date(2026, 6, 5), overdue=False)
    assert not deadlines.promise_of(org, application, today=dt.date(2026, 6, 5)).overdue
    assert deadlines.promise_of(org, application, today=dt.date(2026, 6, 6)).overdue
    applications.decide_application(actor, application, approve=True)
    assert deadlines.promise_of(org, application, today=dt.date(2026, 6, 8)).overdue  # approved is still open

    deadlines.set_procedure(actor, org, days="21", unit="working", notice="5")
    # 21 working days from 21 May 2026, Corpus Christi skipped: Mon 22 June.
    assert deadlines.promise_of(org, application, today=dt.date(2026, 6, 22)).due == dt.date(2026, 6, 22)
    application.status = "issued"  # handed over (printing.operations.record_handover sets it)
    assert not deadlines.promise_of(org, application, today=dt.date(2026, 7, 1)).overdue


def test_the_promise_counts_from_the_photo_when_it_comes_later(school):
    actor, org = school
    with clock.pinned(at(dt.date(2026, 10, 20))):  # Tuesday: the application, no photo yet
        pupil = add_pupil(actor)
        application = applications.create_application(actor, pupil, school=org)
        db.session.flush()
        assert deadlines.promise_of(org, application) is None
    with clock.pinned(at(dt.date(2026, 10, 28), hour=23)):  # Wed 28 Oct, 23:00 in Warsaw (22:00 UTC)
        store_photo(actor, org, pupil)
    db.session.flush()
    # Default 30 calendar days from 28 Oct: Fri 27 Nov 2026 (a working day).
    promise = deadlines.promise_of(org, application, today=dt.date(2026, 11, 27))
    assert (promise.start, promise.due, promise.overdue) == (dt.date(2026, 10, 28), dt.date(2026, 11, 27), False)
    deadlines.set_procedure(actor, org, days="14", unit="calendar", notice="5")
    # 28 Oct + 14 = Wed 11 Nov, Independence Day: Thu 12 Nov.
    assert deadlines.promise_of(org, application, today=dt.date(2026, 11, 13)) == deadlines.Promise(
        start=dt.date(2026, 10, 28), due=dt.date(2026, 11, 12), overdue=True)


def test_the_collection_notice_is_due_five_working_days_after_the_delivery_day_in_warsaw(school):
    _actor, org = school
    # 23:30 UTC on Mon 9 Nov 2026 is 00:30 on Tue 10 Nov in Warsaw: the delivery day is the 10th.
    # 5 working days: [Wed 11 Nov], Thu 12 (1), Fri 13 (2), Mon 16 (3), Tue 17 (4), Wed 18 (5).
    assert deadlines.notice_due(org, dt.datetime(2026, 11, 9, 23, 30, tzinfo=dt.UTC)) == dt.date(2026, 11, 18)
    # Delivered Tue 23 Dec 2025 at noon: [24–26 Dec], 29, 30, 31, [1 Jan], 2 Jan, Mon 5 Jan 2026.
    assert deadlines.notice_due(org, at(dt.date(2025, 12, 23), hour=12)) == dt.date(2026, 1, 5)


@pytest.mark.parametrize(("days", "unit", "notice", "message"), [
    ("", "calendar", "5", "termin wydania"), ("0", "calendar", "5", "termin wydania"),
    ("121", "calendar", "5", "termin wydania"), ("14,5", "working", "5", "termin wydania"),
    ("٣", "working", "5", "termin wydania"), ("14", "weeks", "5", "kalendarzowych"),
    ("14", "calendar", "0", "powiadomienia"), ("14", "calendar", "31", "powiadomienia"),
    ("14", "calendar", "x", "powiadomienia"),
])
def test_the_procedure_refuses_what_is_no_deadline(school, days, unit, notice, message):
    actor, org = school
    with pytest.raises(OperationError, match=message):
        deadlines.set_procedure(actor, org, days=days, unit=unit, notice=notice)
    assert (org.promise_days, org.promise_working_days, org.notice_working_days) == (30, False, 5)
