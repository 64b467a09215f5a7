"""Dates are Warsaw's days (docs/domain.md §16), whatever the server's zone: a card ordered at 00:30
on 1 September in Warsaw (22:30 UTC on 31 August) is issued on 1 September, valid until 30 September
of the next year (docs/domain.md §4); its hologram and handover may be dated that day too. The
school year a card serves turns at the summer cut-over, at midnight in Warsaw too. The clock is
pinned (infra.clock.pinned); the host running the tests is on UTC or any other zone."""

from __future__ import annotations

import datetime as dt

import pytest

from infra import clock
from infra.db import db
from printing import operations as printing_ops
from printing.models import PrintOrder
from tenants.registry import holograms
from tenants.registry.models import Hologram
from tenants.tenancy.actors import Actor
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import tenant_scope
from tenants.tenancy.errors import OperationError
from tenants.tenancy.models import Organisation
from tests.helpers import add_pupil
from tests.helpers import approved_applications
from tests.helpers import handed_over_cards

CASES = [
    # instant (UTC), Warsaw's day, school year, valid until
    (dt.datetime(2026, 8, 31, 22, 30, tzinfo=dt.UTC), dt.date(2026, 9, 1), 2026, dt.date(2027, 9, 30)),
    # 31 August is after the summer cut-over (by default 27.06.2026, the day after classes end):
    # the card serves the coming school year, 2026/27 (issue 16; it used to get 30.09.2026).
    (dt.datetime(2026, 8, 31, 21, 59, tzinfo=dt.UTC), dt.date(2026, 8, 31), 2026, dt.date(2027, 9, 30)),
    (dt.datetime(2026, 12, 31, 23, 30, tzinfo=dt.UTC), dt.date(2027, 1, 1), 2026, dt.date(2027, 9, 30)),
    # The cut-over itself turns at midnight in Warsaw (UTC+2 in June): 23:59 on Friday 26.06.2026,
    # the last day of classes, is still 2025/26; 00:30 on Saturday 27.06 is 2026/27.
    (dt.datetime(2026, 6, 26, 21, 59, tzinfo=dt.UTC), dt.date(2026, 6, 26), 2025, dt.date(2026, 9, 30)),
    (dt.datetime(2026, 6, 26, 22, 30, tzinfo=dt.UTC), dt.date(2026, 6, 27), 2026, dt.date(2027, 9, 30)),
]


def _school(world):
    city = world.city()
    school_id = world.school(city, "Szkoła Północna")
    user_id = world.user(f"dyrektor-{school_id}@test.pl", school_id, "school_director")
    return school_id, world.printer([city]), Actor(user_id=user_id, role="school_director", organisation_id=school_id)


@pytest.mark.parametrize(("instant", "day", "school_year", "valid_until"), CASES)
def test_a_card_is_issued_on_warsaws_day_in_warsaws_school_year(app, world, instant, day, school_year, valid_until):
    school_id, printer_id, actor = _school(world)
    with app.app_context(), tenant_scope(Tenant(school_id=school_id)), clock.pinned(instant):
        school = db.session.get(Organisation, school_id)
        school.card_number_format = "{n}/{rok}"
        # Handed over the same day: a handover dated Warsaw's today is not "in the future".
        (card,) = handed_over_cards(actor, school, printer_id, [add_pupil(actor)])
        assert (card.issue_date, card.valid_until, card.handed_over_on) == (day, valid_until, day)
        assert card.number_label == f"1/{day.year}"
        assert db.session.get(PrintOrder, card.order_id).issue_date == day
        assert holograms.school_year_of(clock.today()) == school_year

        # The year's holograms arrive and one goes on the card, all dated Warsaw's today.
        holograms.receive(actor, school_year=school_year, supplier="PWPW", received_on=day, first="HS 01", last="HS 02")
        holograms.issue(actor, card, "HS 01", school_year=school_year)
        db.session.commit()
        hologram = db.session.scalar(db.select(Hologram).where(Hologram.card_id == card.id))
        assert (hologram.school_year, hologram.issued_on) == (school_year, day)
        assert card.valid_until == valid_until


def test_a_handover_is_not_dated_before_warsaws_day_of_delivery(app, world):
    """Delivered at 00:30 on 1 September in Warsaw (still 31 August in UTC): a handover dated 31
    August would be before the delivery."""
    school_id, printer_id, actor = _school(world)
    with app.app_context(), tenant_scope(Tenant(school_id=school_id)), clock.pinned(CASES[0][0]):
        school = db.session.get(Organisation, school_id)
        ids = approved_applications(actor, school, [add_pupil(actor)])
        order = printing_ops.create_order(actor, school, printer_id, ids)
        (card,) = printing_ops.submit_order(actor, order)
        # Delivered now (set directly: printing is not under test).
        order.status, order.delivered_at, card.status = "delivered", clock.utcnow(), "delivered"
        db.session.flush()
        with pytest.raises(OperationError, match="wcześniejsza niż data dostarczenia"):
            printing_ops.record_handover(actor, card, handed_over_on=dt.date(2026, 8, 31), collected_by="mama")
        printing_ops.record_handover(actor, card, handed_over_on=dt.date(2026, 9, 1), collected_by="mama")


def test_the_school_pages_name_warsaws_school_year(app, world, browser):
    """The hologram page's "this school year" turns over at midnight in Warsaw, not UTC: at the
    summer cut-over (27.06.2026 by default, issue 16), no longer on 1 September, when the
    holograms for 2026/27 are already the year's."""
    city = world.city()
    school_id = world.school(city, "Szkoła Północna")
    world.user("sekretariat-pn@test.pl", school_id, "school_secretary")
    staff = browser("sekretariat-pn@test.pl")
    with clock.pinned(dt.datetime(2026, 8, 31, 21, 59, tzinfo=dt.UTC)):
        before = staff.get("/szkola/hologramy/").get_data(as_text=True)
    with clock.pinned(dt.datetime(2026, 8, 31, 22, 30, tzinfo=dt.UTC)):
        after = staff.get("/szkola/hologramy/").get_data(as_text=True)
    assert 'value="31.08.2026"' in before and 'value="01.09.2026"' in after
    assert 'value="2026" selected' in before and 'value="2026" selected' in after
    with clock.pinned(dt.datetime(2026, 6, 26, 21, 59, tzinfo=dt.UTC)):
        before = staff.get("/szkola/hologramy/").get_data(as_text=True)
    with clock.pinned(dt.datetime(2026, 6, 26, 22, 30, tzinfo=dt.UTC)):
        after = staff.get("/szkola/hologramy/").get_data(as_text=True)
    assert 'value="26.06.2026"' in before and 'value="27.06.2026"' in after
    assert 'value="2025" selected' in before and 'value="2026" selected' in after
