"""A card ordered in summer for the coming school year (issue 16): ordered on 20.08.2026 it is
valid until 30.09.2027, not 30.09.2026 (docs/domain.md §4) — in the proof, the registry entry and
the data the printer gets, with the hologram's school year agreeing. A city that issues for the
coming year only from a later day gets 30.09.2026 for the same order. Hand-worked: in 2026 classes
end on Friday 26.06, so by default cards serve 2026/27 from Saturday 27.06."""

from __future__ import annotations

import datetime as dt

import pytest

from infra import clock
from infra import inputs
from infra.db import db
from printing import batch
from printing import operations as printing_ops
from tenants.registry import holograms
from tenants.tenancy.actors import SYSTEM
from tenants.tenancy.actors import Actor
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import tenant_scope
from tenants.tenancy.models import Organisation
from tests.helpers import add_pupil
from tests.helpers import approved_applications

SUMMER = dt.datetime(2026, 8, 20, 8, 0, tzinfo=dt.UTC)  # 10:00 on 20.08.2026 in Warsaw

CASES = [
    # the city's setting, school year served, valid until (printed as)
    ("", 2026, dt.date(2027, 9, 30), "30.09.2027"),       # default: from 27.06.2026
    ("08-01", 2026, dt.date(2027, 9, 30), "30.09.2027"),  # the city's 01.08 is before 20.08
    ("08-21", 2025, dt.date(2026, 9, 30), "30.09.2026"),  # the city's 21.08 is after 20.08
]


@pytest.mark.parametrize(("setting", "school_year", "valid_until", "printed"), CASES)
def test_an_order_in_august_is_valid_until_september_after_the_coming_school_year(
        app, world, setting, school_year, valid_until, printed):
    city = world.city()
    school_id = world.school(city, "Szkoła Letnia")
    printer_id = world.printer([city])
    user_id = world.user(f"dyrektor-{school_id}@test.pl", school_id, "school_director")
    actor = Actor(user_id=user_id, role="school_director", organisation_id=school_id)
    with app.app_context():
        db.session.get(Organisation, city).school_year_cutover = setting
        db.session.commit()
    with app.app_context(), tenant_scope(Tenant(school_id=school_id)), clock.pinned(SUMMER):
        school = db.session.get(Organisation, school_id)
        school.bank_account = "07102050110000990202075919"
        ids = approved_applications(actor, school, [add_pupil(actor)])
        order = printing_ops.create_order(actor, school, printer_id, ids)
        (proof,) = batch.preview_data(order, actor, today=clock.today())
        assert (proof.issue_date, proof.valid_until) == (dt.date(2026, 8, 20), valid_until)

        (card,) = printing_ops.submit_order(actor, order)
        db.session.commit()
        assert (card.issue_date, card.valid_until) == (dt.date(2026, 8, 20), valid_until)
        _, (printed_card,) = batch.card_data(order, SYSTEM, "batch_render")
        assert printed_card.valid_until == valid_until
        assert holograms.school_year_of(clock.today()) == school_year
        assert holograms.valid_until(school_year) == card.valid_until
        assert inputs.format_day(printed_card.valid_until) == printed
