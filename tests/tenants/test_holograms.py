"""The hologram ledger: a Hypothesis state machine over receive / issue / void / destroy /
concurrent issue, on PostgreSQL with row-level security (docs/security.md T5.4–T5.6)."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from hypothesis import HealthCheck
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine
from hypothesis.stateful import initialize
from hypothesis.stateful import invariant
from hypothesis.stateful import rule
from sqlalchemy import func
from sqlalchemy import select

from infra import clock
from infra.db import db
from tenants.registry import holograms
from tenants.registry.models import Card
from tenants.registry.models import Hologram
from tenants.tenancy.actors import Actor
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import tenant_scope
from tenants.tenancy.errors import OperationError
from tenants.tenancy.models import Organisation
from tests.helpers import add_pupil
from tests.helpers import handed_over_cards
from tests.helpers import letters

YEAR = holograms.school_year_of(clock.today())
TODAY = clock.today()


def school_with_cards(app, world, n_cards: int, city=None):
    """A new school (its own tenant), a printer and `n_cards` handed-over cards; returns ids."""
    city = city or world.city()
    school_id = world.school(city, "Szkoła Testowa")
    printer_id = world.printer([city])
    user_id = world.user(f"dyrektor-{school_id}@test.pl", school_id, "school_director")
    actor = Actor(user_id=user_id, role="school_director", organisation_id=school_id)
    with app.app_context(), tenant_scope(Tenant(school_id=school_id)):
        school = db.session.get(Organisation, school_id)
        pupils = [add_pupil(actor, surname=f"Uczeń{letters(i)}", serial=100 + i) for i in range(n_cards)]
        cards = handed_over_cards(actor, school, printer_id, pupils)
        db.session.commit()
        return school_id, actor, [c.id for c in cards]


def issue_in_thread(app, school_id, actor, card_id, serial, barrier, results):
    with app.app_context(), tenant_scope(Tenant(school_id=school_id)):
        card = db.session.get(Card, card_id)
        barrier.wait()
        try:
            holograms.issue(actor, card, serial, school_year=YEAR)
            db.session.commit()
            results.append("ok")
        except OperationError as err:
            db.session.rollback()
            results.append(str(err))
        finally:
            db.session.remove()


def test_two_concurrent_issuances_of_one_serial_exactly_one_wins(app, world):
    school_id, actor, (first, second) = school_with_cards(app, world, 2)
    with app.app_context(), tenant_scope(Tenant(school_id=school_id)):
        holograms.receive(actor, school_year=YEAR, supplier="PWPW", received_on=TODAY, first="HS 0001", last="HS 0003")
        db.session.commit()
    barrier, results = threading.Barrier(2), []
    threads = [threading.Thread(target=issue_in_thread, args=(app, school_id, actor, card, "HS 0002", barrier, results))
               for card in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results, key=len)[0] == "ok" and len([r for r in results if r == "ok"]) == 1
    assert "został już wydany" in [r for r in results if r != "ok"][0]
    with app.app_context(), tenant_scope(Tenant(school_id=school_id)):
        issued = db.session.scalars(select(Hologram).where(Hologram.state == "issued")).all()
        assert [h.serial for h in issued] == ["HS 0002"]
        card = db.session.get(Card, issued[0].card_id)
        assert card.valid_until == dt.date(YEAR + 1, 9, 30)


def test_another_schools_serial_is_not_found(app, world):
    city = world.city()
    a, actor_a, (card_a,) = school_with_cards(app, world, 1, city)
    b, actor_b, _ = school_with_cards(app, world, 1, city)
    with app.app_context(), tenant_scope(Tenant(school_id=b)):
        holograms.receive(actor_b, school_year=YEAR, supplier="PWPW", received_on=TODAY, first="B 01", last="B 05")
        db.session.commit()
    with app.app_context(), tenant_scope(Tenant(school_id=a)):
        card = db.session.get(Card, card_a)
        with pytest.raises(holograms.HologramTaken):
            holograms.issue(actor_a, card, "B 01", school_year=YEAR)
        assert holograms.stock() == []  # A sees none of B's holograms
    with app.app_context(), tenant_scope(Tenant(school_id=b)):
        assert holograms.stock()[0].in_stock == 5


def test_a_card_gets_one_hologram_per_school_year(app, world):
    school_id, actor, (card_id,) = school_with_cards(app, world, 1)
    with app.app_context(), tenant_scope(Tenant(school_id=school_id)):
        holograms.receive(actor, school_year=YEAR, supplier="PWPW", received_on=TODAY, first="H1", last="H3")
        card = db.session.get(Card, card_id)
        holograms.issue(actor, card, "H1", school_year=YEAR)
        with pytest.raises(OperationError, match="ma już hologram"):
            holograms.issue(actor, card, "H2", school_year=YEAR)
        assert holograms.stock()[0].in_stock == 2  # the failed attempt took nothing from stock


def test_deliveries_protocols_and_stock(app, world):
    school_id, actor, _ = school_with_cards(app, world, 1)
    with app.app_context(), tenant_scope(Tenant(school_id=school_id)):
        holograms.receive(actor, school_year=YEAR, supplier="PWPW", received_on=TODAY,
                          first="HS 000098", last="HS 000102")
        assert holograms.in_stock_serials(YEAR) == ["HS 000098", "HS 000099", "HS 000100", "HS 000101", "HS 000102"]
        with pytest.raises(OperationError, match="już przyjęła"):
            holograms.receive(actor, school_year=YEAR, supplier="PWPW", received_on=TODAY, first="HS 000100",
                              last="HS 000110")
        for first, last in (("HS 10", "HS 009"), ("A 1", "B 2"), ("HS 5", "HS 2"), ("X1", "X20000")):
            with pytest.raises(OperationError):
                holograms.receive(actor, school_year=YEAR, supplier="x", received_on=TODAY, first=first, last=last)
        with pytest.raises(OperationError, match="komisji"):
            holograms.void(actor, ["HS 000098"], held_on=TODAY, committee="", reason="uszkodzony")
        holograms.void(actor, ["HS 000098"], held_on=TODAY, committee="A. Nowak, B. Lis", reason="uszkodzony")
        with pytest.raises(OperationError, match="nic nie zostało zmienione"):
            holograms.void(actor, ["HS 000098", "HS 000099"], held_on=TODAY, committee="k", reason="r")
        holograms.destroy(actor, ["HS 000098", "HS 000099"], held_on=TODAY, committee="komisja", reason="zużyte")
        (s,) = holograms.stock()
        assert (s.received, s.in_stock, s.issued, s.voided, s.destroyed) == (5, 3, 0, 0, 2)


class HologramLedger(RuleBasedStateMachine):
    """Random receive / issue / void / destroy / concurrent issue against the real database.

    The model is a dict serial → state kept by the test; after every step the database must
    agree with it and with the ledger's invariants."""

    app = world = None

    @initialize()
    def school(self):
        self.school_id, self.actor, self.cards = school_with_cards(self.app, self.world, 3)
        self.model: dict[str, str] = {}
        self.card_of: dict[str, int] = {}
        self.next_serial = 1

    def run(self, fn):
        with self.app.app_context(), tenant_scope(Tenant(school_id=self.school_id)):
            try:
                result = fn()
                db.session.commit()
                return result
            except OperationError as err:
                db.session.rollback()
                return err

    @rule(count=st.integers(min_value=1, max_value=4))
    def receive(self, count):
        first, last = self.next_serial, self.next_serial + count - 1
        self.next_serial += count
        self.run(lambda: holograms.receive(self.actor, school_year=YEAR, supplier="PWPW", received_on=TODAY,
                                           first=f"S{first:04d}", last=f"S{last:04d}"))
        for n in range(first, last + 1):
            self.model[f"S{n:04d}"] = "in_stock"

    def pick(self, data, states):
        serials = sorted(s for s, state in self.model.items() if state in states) or sorted(self.model) or ["S9999"]
        return data.draw(st.sampled_from(serials))

    @rule(data=st.data(), card=st.integers(min_value=0, max_value=2))
    def issue(self, data, card):
        serial = self.pick(data, ("in_stock", "issued", "voided"))
        card_id = self.cards[card]
        result = self.run(lambda: holograms.issue(self.actor, db.session.get(Card, card_id), serial, school_year=YEAR))
        allowed = self.model.get(serial) == "in_stock" and card_id not in self.card_of.values()
        assert (not isinstance(result, OperationError)) == allowed
        if allowed:
            self.model[serial] = "issued"
            self.card_of[serial] = card_id

    @rule(data=st.data())
    def void(self, data):
        serial = self.pick(data, ("in_stock", "issued"))
        result = self.run(lambda: holograms.void(self.actor, [serial], held_on=TODAY, committee="k", reason="r"))
        allowed = self.model.get(serial) == "in_stock"
        assert (not isinstance(result, OperationError)) == allowed
        if allowed:
            self.model[serial] = "voided"

    @rule(data=st.data())
    def destroy(self, data):
        serial = self.pick(data, ("in_stock", "voided", "issued", "destroyed"))
        result = self.run(lambda: holograms.destroy(self.actor, [serial], held_on=TODAY, committee="k", reason="r"))
        allowed = self.model.get(serial) in ("in_stock", "voided")
        assert (not isinstance(result, OperationError)) == allowed
        if allowed:
            self.model[serial] = "destroyed"

    @rule(data=st.data())
    def concurrent_issue(self, data):
        serial = self.pick(data, ("in_stock",))
        free = [c for c in self.cards if c not in self.card_of.values()]
        if len(free) < 2 or self.model.get(serial) != "in_stock":
            return
        barrier, results = threading.Barrier(2), []
        threads = [threading.Thread(target=issue_in_thread,
                                    args=(self.app, self.school_id, self.actor, c, serial, barrier, results))
                   for c in free[:2]]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert results.count("ok") == 1
        self.model[serial] = "issued"
        with self.app.app_context(), tenant_scope(Tenant(school_id=self.school_id)):
            self.card_of[serial] = db.session.scalar(select(Hologram.card_id).where(Hologram.serial == serial))

    @invariant()
    def ledger_balances(self):
        with self.app.app_context(), tenant_scope(Tenant(school_id=self.school_id)):
            rows = dict(db.session.execute(select(Hologram.serial, Hologram.state)).all())
            per_card = db.session.execute(
                select(Hologram.card_id, func.count()).where(Hologram.state == "issued")
                .group_by(Hologram.card_id, Hologram.school_year)).all()
            stock = holograms.stock()
        assert rows == self.model  # one state per serial, exactly the model's
        received = sum(s.received for s in stock)
        assert received == sum(s.in_stock + s.issued + s.voided + s.destroyed for s in stock) == len(self.model)
        assert all(n == 1 for _card, n in per_card)  # at most one hologram per card per school year


def test_hologram_ledger_state_machine(app, world):
    HologramLedger.app, HologramLedger.world = app, world
    machine = HologramLedger.TestCase
    machine.settings = settings(max_examples=12, stateful_step_count=12, deadline=None,
                                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    machine().runTest()
