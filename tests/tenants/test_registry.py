"""The registry under random sequences of orders, rejections, reprints, duplicates, handovers
and pupils leaving: numbers stay 1..N per school with no gap and no repeat, and every card's
life is consistent."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from sqlalchemy import select

from infra import clock
from infra.db import db
from infra.db import utcnow
from printing import operations as printing_ops
from tenants.pupils import applications
from tenants.pupils.models import Application
from tenants.pupils.models import Pupil
from tenants.registry import operations as registry
from tenants.registry.models import Card
from tenants.registry.models import SchoolCounter
from tenants.tenancy.actors import Actor
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import tenant_scope
from tenants.tenancy.errors import OperationError
from tenants.tenancy.models import Organisation
from tests.helpers import add_pupil
from tests.helpers import letters
from tests.helpers import store_photo

ACTIONS = ["order", "reject", "deliver_and_hand_over", "spoil_and_reprint", "duplicate", "replacement", "leave"]


class School:
    """One school driven through the real operations."""

    def __init__(self, app, world):
        city = world.city()
        self.app = app
        self.id = world.school(city, "Szkoła Losowa", card_number_format="{n}/{rok}")
        self.printer = world.printer([city])
        user = world.user(f"dyr-{self.id}@test.pl", self.id, "school_director")
        self.actor = Actor(user_id=user, role="school_director", organisation_id=self.id)
        self.serial = 0

    def __enter__(self):
        self.ctx = self.app.app_context()
        self.ctx.push()
        self.scope = tenant_scope(Tenant(school_id=self.id))
        self.scope.__enter__()
        self.org = db.session.get(Organisation, self.id)
        self.org.bank_account = "07102050110000990202075919"
        return self

    def __exit__(self, *exc):
        db.session.rollback()
        self.scope.__exit__(*exc)
        self.ctx.pop()

    def new_pupil(self) -> Pupil:
        self.serial += 1
        pupil = add_pupil(self.actor, surname=f"Uczeń{letters(self.serial)}", serial=self.serial)
        store_photo(self.actor, self.org, pupil)
        return pupil

    def step(self, action: str, rng: st.DataObject) -> None:
        try:
            with db.session.begin_nested():
                getattr(self, action)(rng)
        except OperationError:
            pass  # the rules refused it; nothing of it may remain (the savepoint is rolled back)
        db.session.commit()

    def order(self, rng):
        application = applications.create_application(self.actor, self.new_pupil(), "first", school=self.org)
        applications.decide_application(self.actor, application, approve=True)
        self._order([application.id])

    def _order(self, ids):
        order = printing_ops.create_order(self.actor, self.org, self.printer, ids)
        printing_ops.submit_order(self.actor, order)

    def reject(self, rng):
        application = applications.create_application(self.actor, self.new_pupil(), "first", school=self.org)
        applications.decide_application(self.actor, application, approve=False, reason="błędne dane")

    def _cards(self, status):
        return list(db.session.scalars(select(Card).where(Card.status == status).order_by(Card.number)))

    def deliver_and_hand_over(self, rng):
        ordered = self._cards("ordered")
        if not ordered:
            raise OperationError("nothing ordered")
        card = rng.draw(st.sampled_from(ordered))
        card.status = "delivered"  # printing and delivery are not under test here
        db.session.flush()
        printing_ops.record_handover(self.actor, card, handed_over_on=clock.today(), collected_by="rodzic")

    def spoil_and_reprint(self, rng):
        waiting = self._cards("ordered")
        if not waiting:
            raise OperationError("nothing to spoil")
        card = rng.draw(st.sampled_from(waiting))
        registry.spoil(self.actor, card, "błąd nadruku")
        self._order([card.application_id])

    def _again(self, rng, kind, reason):
        held = self._cards("handed_over")
        if not held:
            raise OperationError("nothing handed over")
        card = rng.draw(st.sampled_from(held))
        application = applications.create_application(self.actor, card.pupil, kind, reason_code=reason,
                                                      school=self.org)
        if kind == "duplicate":
            applications.record_payment(self.actor, application, amount=application.fee_amount,
                                        paid_on=clock.today(), reference="przelew")
        else:
            applications.record_old_card_return(self.actor, application, clock.today())
        applications.decide_application(self.actor, application, approve=True)
        self._order([application.id])

    def duplicate(self, rng):
        self._again(rng, "duplicate", "lost")

    def replacement(self, rng):
        self._again(rng, "replacement", "name_change")

    def leave(self, rng):
        pupils = list(db.session.scalars(select(Pupil).where(Pupil.status == "active").order_by(Pupil.id)))
        if not pupils:
            raise OperationError("nobody to leave")
        registry.pupil_left(self.actor, rng.draw(st.sampled_from(pupils)), "left")

    def check(self):
        cards = list(db.session.scalars(select(Card).order_by(Card.number)))
        numbers = [c.number for c in cards]
        assert numbers == list(range(1, len(cards) + 1))  # 1..N: no gap, no repeat
        counter = db.session.get(SchoolCounter, (self.id, 0))  # the continuous sequence
        assert (counter.last_no if counter else 0) == len(cards)
        year = clock.today().year
        assert all(c.number_label == f"{c.number}/{year}" for c in cards)
        by_id = {c.id: c for c in cards}
        for pupil_id in {c.pupil_id for c in cards}:
            held = [c for c in cards if c.pupil_id == pupil_id and c.status == "handed_over"]
            assert len(held) <= 1  # a new card's handover invalidates the old one
        for card in cards:
            if card.replaces_card_id:
                old = by_id[card.replaces_card_id]
                assert old.pupil_id == card.pupil_id and old.status == "invalidated" and old.number < card.number
            if card.status == "invalidated":
                assert card.invalidation_reason in ("replaced", "duplicated", "left", "lost")
        for pupil in db.session.scalars(select(Pupil).where(Pupil.status != "active")):
            assert not any(c.is_live for c in cards if c.pupil_id == pupil.id)
        rejected = db.session.scalars(select(Application.id).where(Application.status == "rejected")).all()
        assert not any(c.application_id in rejected for c in cards)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(actions=st.lists(st.sampled_from(ACTIONS), min_size=4, max_size=14), rng=st.data())
def test_registry_numbers_stay_gap_free_through_any_card_life(app, world, actions, rng):
    with School(app, world) as school:
        for action in actions:
            school.step(action, rng)
            school.check()


def test_handing_over_a_duplicate_invalidates_the_old_card_and_links_them(app, world):
    with School(app, world) as school:
        school.order(None)
        (card,) = school._cards("ordered")
        card.status = "delivered"
        printing_ops.record_handover(school.actor, card, handed_over_on=clock.today(), collected_by="mama")
        application = applications.create_application(school.actor, card.pupil, "duplicate", reason_code="stolen",
                                                      school=school.org)
        applications.record_payment(school.actor, application, amount=application.fee_amount,
                                    paid_on=clock.today(), reference="przelew")
        applications.decide_application(school.actor, application, approve=True)
        school._order([application.id])
        new = db.session.scalar(select(Card).where(Card.number == 2))
        assert card.status == "handed_over"  # still valid until the duplicate is handed over
        new.status = "delivered"
        order = db.session.get(printing_ops.PrintOrder, new.order_id)
        order.delivered_at = utcnow()
        replaced = printing_ops.record_handover(school.actor, new, handed_over_on=clock.today(), collected_by="tata")
        assert replaced == [card] and card.status == "invalidated" and card.invalidation_reason == "duplicated"
        assert new.replaces_card_id == card.id and new.label == f"2/{clock.today().year}"


def test_paper_cards_and_bad_number_formats(app, world):
    with School(app, world) as school:
        pupil = school.new_pupil()
        with pytest.raises(OperationError, match="12.07.2024"):
            registry.record_paper_card(school.actor, pupil, "123/2023", dt.date(2024, 9, 1))
        registry.record_paper_card(school.actor, pupil, "123/2023", dt.date(2023, 9, 1))
        assert pupil.paper_card_number == "123/2023"
    for bad in ("", "{rok}", "{n}{n}", "x" * 31, "{n}/{year}"):
        with pytest.raises(OperationError):
            registry.check_number_format(bad)
    assert registry.check_number_format(" SP1/{n}/{rok} ") == "SP1/{n}/{rok}"
    assert registry.number_label("{n}/{rok}", 7, dt.date(2026, 9, 1)) == "7/2026"
