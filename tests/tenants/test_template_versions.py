"""Template versions (docs/domain.md §25): the version in force on a day, and the version a card
records when it enters the registry — the one in force on its issue date.

Hand-worked: Dz.U. 2023 poz. 2653's version takes effect on 22.12.2023, so a card issued on
21.12.2023 (the day before) is on the original text's version (poz. 1120) and one issued on
22.12.2023 (the day itself) on poz. 2653's; a test amendment from 1.09.2027 leaves a card issued on
31.08.2027 on poz. 2653's and puts one issued on 1.09.2027 on its own."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from infra import clock
from infra.db import db
from printing import operations as printing_ops
from printing.card_layout import DESIGNS
from printing.models import PrintOrder
from tenants.registry import template_versions as versions
from tenants.registry.models import Card
from tenants.tenancy.actors import Actor
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import tenant_scope
from tests.printing.test_template_orders import draft

AMENDMENT = "2027-test"


def amend(monkeypatch, template="MEiN-I/1", effective_from=dt.date(2027, 9, 1)):
    """A new version of `template` (an amendment of annex 4 as a test imagines it)."""
    version = versions.Version(template, AMENDMENT, effective_from, "zmiana testowa załącznika nr 4")
    monkeypatch.setitem(versions.VERSIONS, template, versions.VERSIONS[template] + (version,))
    return version


@pytest.mark.parametrize("template", versions.TEMPLATE_CODES)
def test_poz_2653_takes_effect_on_22_december_2023_the_original_the_day_before(template):
    assert versions.in_force(template, dt.date(2023, 12, 21)).key == versions.ORIGINAL == "2023-1120"
    assert versions.in_force(template, dt.date(2023, 12, 22)).key == versions.AMENDED_2653 == "2023-2653"
    assert versions.in_force(template, dt.date(2026, 12, 5)).key == versions.AMENDED_2653
    assert versions.in_force(template, dt.date(2023, 6, 7)).key == versions.ORIGINAL
    assert versions.in_force(template, dt.date(2020, 1, 1)).key == versions.ORIGINAL  # before every version: the first


def test_an_amendment_takes_effect_on_its_day_for_its_template_only(monkeypatch):
    amend(monkeypatch)
    assert versions.in_force("MEiN-I/1", dt.date(2027, 8, 31)).key == versions.AMENDED_2653
    assert versions.in_force("MEiN-I/1", dt.date(2027, 9, 1)).key == AMENDMENT
    assert versions.in_force("MEiN-I/2", dt.date(2027, 9, 1)).key == versions.AMENDED_2653


def test_every_version_has_a_design_and_an_unknown_one_is_refused():
    for template in versions.TEMPLATE_CODES:
        for version in versions.versions_of(template):
            assert (template, version.key) in DESIGNS
    with pytest.raises(ValueError):
        versions.find("MEiN-I/1", "1999")
    with pytest.raises(ValueError):
        versions.in_force("MEiN-II/9", dt.date(2026, 1, 1))


def test_a_card_records_the_version_in_force_on_its_issue_date(app, two_schools, monkeypatch):
    amend(monkeypatch)
    school_id, user_id = two_schools["a"], two_schools["director_a"]
    actor = Actor(user_id=user_id, role="school_director", organisation_id=school_id)
    with app.app_context(), tenant_scope(Tenant(school_id=school_id)):
        orders = {day: draft(school_id, two_schools["p1"], user_id, "pupil", False, dt.date(2015, 3, day.day))
                  for day in (dt.date(2027, 8, 31), dt.date(2027, 9, 1))}
        db.session.commit()
        for day, order_id in orders.items():
            with clock.pinned(dt.datetime(day.year, day.month, day.day, 10, tzinfo=dt.UTC)):
                printing_ops.submit_order(actor, db.session.get(PrintOrder, order_id))
        db.session.commit()
        cards = {issued: version for issued, version in db.session.execute(
            select(Card.issue_date, Card.template_version).where(Card.template_code == "MEiN-I/1"))}
        assert cards == {dt.date(2027, 8, 31): versions.AMENDED_2653, dt.date(2027, 9, 1): AMENDMENT}


def test_a_card_added_without_a_version_gets_the_one_of_its_issue_date(app, two_schools):
    """The model's default (a card written by other code than the order's submission)."""
    school_id, user_id = two_schools["a"], two_schools["director_a"]
    actor = Actor(user_id=user_id, role="school_director", organisation_id=school_id)
    with app.app_context(), tenant_scope(Tenant(school_id=school_id)):
        order_id = draft(school_id, two_schools["p1"], user_id, "pupil", False, dt.date(2015, 3, 3))
        order = db.session.get(PrintOrder, order_id)
        printing_ops.submit_order(actor, order)
        [card] = db.session.scalars(select(Card)).all()
        for number, issued, expected in ((900, dt.date(2023, 12, 21), versions.ORIGINAL),
                                         (901, dt.date(2023, 12, 22), versions.AMENDED_2653)):
            db.session.add(Card(school_id=school_id, number=number, pupil_id=card.pupil_id,
                                application_id=card.application_id, order_id=order_id, template_code="MEiN-I/2",
                                issue_date=issued, valid_until=dt.date(2024, 9, 30)))
            db.session.flush()
            assert db.session.scalar(select(Card.template_version).where(Card.number == number)) == expected
        db.session.rollback()
