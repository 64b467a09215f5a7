"""The blank ledger and destruction protocols (docs/domain.md §22): a Hypothesis state machine
over receive / use / correct / spoil / spoil a card / destroy blanks / destroy cards / concurrent
use, on PostgreSQL with row-level security, like the hologram ledger's (tests/tenants/test_holograms.py)."""

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
from tenants.registry import accounted
from tenants.registry import blanks
from tenants.registry import operations as registry
from tenants.registry.models import Blank
from tenants.registry.models import BlankProtocol
from tenants.registry.models import Card
from tenants.registry.models import CardDestruction
from tenants.tenancy.actors import Actor
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import tenant_scope
from tenants.tenancy.errors import OperationError
from tenants.tenancy.models import Organisation
from tests.helpers import add_pupil
from tests.helpers import handed_over_cards
from tests.helpers import letters

TODAY = clock.today()
EXPIRED = dt.date(2025, 9, 30)  # a validity long over, so a spoiled card may be destroyed


def school_with_cards(app, world, n_cards: int, city=None, *, expired=True):
    """A new school (its own tenant) with `n_cards` cards delivered and waiting to be collected;
    with `expired` their validity is over (the case of uncollected cards at a year's end)."""
    city = city or world.city()
    school_id = world.school(city, "Szkoła Testowa")
    printer_id = world.printer([city])
    user_id = world.user(f"sekretariat-{school_id}@test.pl", school_id, "school_secretary")
    actor = Actor(user_id=user_id, role="school_secretary", organisation_id=school_id)
    with app.app_context(), tenant_scope(Tenant(school_id=school_id)):
        school = db.session.get(Organisation, school_id)
        pupils = [add_pupil(actor, surname=f"Uczeń{letters(i)}", serial=300 + i) for i in range(n_cards)]
        cards = handed_over_cards(actor, school, printer_id, pupils, hand_over=False)
        for card in cards if expired else ():
            card.valid_until = EXPIRED
        db.session.commit()
        return school_id, actor, [c.id for c in cards]


def run(app, school_id, fn):
    with app.app_context(), tenant_scope(Tenant(school_id=school_id)):
        try:
            result = fn()
            db.session.commit()
            return result
        except OperationError as err:
            db.session.rollback()
            return err


def use_in_thread(app, school_id, card_id, serial, barrier, results):
    with app.app_context(), tenant_scope(Tenant(school_id=school_id)):
        card = db.session.get(Card, card_id)
        barrier.wait()
        try:
            blanks.use(serial, card_school_id=school_id, card_id=card.id, card_label=card.label)
            db.session.commit()
            results.append("ok")
        except OperationError as err:
            db.session.rollback()
            results.append(str(err))
        finally:
            db.session.remove()


# --- hand-worked cases --------------------------------------------------------------------------


def test_serial_ranges_and_protocol_lists_are_shared_with_holograms():
    # The same expansion as the hologram ledger's, with the blank's own words in its refusals.
    assert accounted.serial_range("BL 0098", "BL 0101", accounted.BLANKS) == ["BL 0098", "BL 0099", "BL 0100",
                                                                              "BL 0101"]
    with pytest.raises(OperationError, match="najwyżej 10000 blankietów"):
        accounted.serial_range("BL 00001", "BL 20000", accounted.BLANKS)
    with pytest.raises(OperationError, match="np. BL-000101"):
        accounted.serial_range("BL 1", "XX 2", accounted.BLANKS)
    assert accounted.serials_from("BL 01 – BL 03\nBL 07, X9", accounted.BLANKS) == ["BL 01", "BL 02", "BL 03",
                                                                                    "BL 07", "X9"]
    # A protocol lists runs as ranges: B1, B2, B3 are one run; B7 stands alone; "B10" has another width.
    assert accounted.compress(["B7", "B2", "B1", "B3", "B10", "ZZ"]) == ["B1 – B3", "B7", "B10", "ZZ"]
    assert accounted.compress(["BL 0099", "BL 0100", "BL 0101"]) == ["BL 0099 – BL 0101"]


def test_refusals_say_why_in_polish(app, world):
    school_id, actor, (first, second) = school_with_cards(app, world, 2)
    with app.app_context(), tenant_scope(Tenant(school_id=school_id)):
        blanks.receive(actor, supplier="PWPW", received_on=TODAY, first="BL-0001", last="BL-0004")
        with pytest.raises(OperationError, match="2 z tych numerów blankietów jest już w ewidencji"):
            blanks.receive(actor, supplier="PWPW", received_on=TODAY, first="BL-0003", last="BL-0006")
        with pytest.raises(OperationError, match="z przyszłości"):
            blanks.receive(actor, supplier="PWPW", received_on=TODAY + dt.timedelta(days=1), first="C1", last="C2")
        card = db.session.get(Card, first)
        blanks.use("BL-0001", card_school_id=school_id, card_id=first, card_label=card.label)
        with pytest.raises(OperationError, match=f"BL-0001 został już użyty dla legitymacji nr {card.label}"):
            blanks.use("BL-0001", card_school_id=school_id, card_id=second, card_label="2")
        with pytest.raises(OperationError, match="Blankietu BL 9999 nie ma w ewidencji"):
            blanks.use("BL 9999", card_school_id=school_id, card_id=second, card_label="2")
        with pytest.raises(OperationError, match="ma już zapisany inny blankiet"):
            blanks.use("BL-0002", card_school_id=school_id, card_id=first, card_label=card.label)
        blanks.destroy(actor, held_on=TODAY, committee="A. Nowak, B. Lis", reason="wada", serials=["BL-0003"])
        day = TODAY.strftime("%d.%m.%Y")
        with pytest.raises(OperationError, match=f"BL-0003 został zniszczony protokołem z dnia {day}"):
            blanks.destroy(actor, held_on=TODAY, committee="k", reason="r", serials=["BL-0003"])
        with pytest.raises(OperationError, match="komisji i powodu"):
            blanks.destroy(actor, held_on=TODAY, committee=" ", reason="r", serials=["BL-0004"])
        with pytest.raises(OperationError, match="Wybierz legitymacje albo podaj numery"):
            blanks.destroy(actor, held_on=TODAY, committee="k", reason="r")
        # A card not marked spoiled is not destroyed; nor one still valid (source 002 §3.6).
        with pytest.raises(OperationError, match="nie jest oznaczona jako zepsuta"):
            blanks.destroy(actor, held_on=TODAY, committee="k", reason="r", card_ids=[second])
        assert blanks.stock() == blanks.Stock(received=4, in_stock=2, used=1, spoiled=0, destroyed=1)


def test_a_spoiled_card_is_destroyed_after_its_validity_once_with_its_own_blank(app, world):
    school_id, actor, (card_id,) = school_with_cards(app, world, 1, expired=False)
    with app.app_context(), tenant_scope(Tenant(school_id=school_id)):
        blanks.receive(actor, supplier="PWPW", received_on=TODAY, first="BL-0001", last="BL-0002")
        card = db.session.get(Card, card_id)
        blanks.use("BL-0002", card_school_id=school_id, card_id=card.id, card_label=card.label)
        registry.spoil(actor, card, "nieodebrana")
        assert db.session.scalar(select(Blank.state).where(Blank.serial == "BL-0002")) == "spoiled"
        valid_until = card.valid_until
        with pytest.raises(OperationError, match="po upływie jej ważności, od "
                                                 f"{(valid_until + dt.timedelta(days=1)).strftime('%d.%m.%Y')}"):
            blanks.destroy(actor, held_on=TODAY, committee="k", reason="r", card_ids=[card.id])
        card.valid_until = EXPIRED  # a year later, as it were
        protocol = blanks.destroy(actor, held_on=TODAY, committee="A. Nowak (przewodnicząca), B. Lis",
                                  reason="nieodebrane po upływie ważności", serials=["BL-0001"], card_ids=[card.id])
        db.session.commit()
        contents = blanks.contents(protocol)
        assert [(d.card_label, d.blank_serial) for d in contents.cards] == [(card.label, "BL-0002")]
        # BL-0002 is the card's own blank: listed with the card, not again among spoiled blanks.
        assert contents.unused == ["BL-0001"] and contents.spoiled == [] and contents.total_blanks == 1
        assert blanks.stock() == blanks.Stock(received=2, destroyed=2)
        with pytest.raises(OperationError, match="została już zniszczona"):
            blanks.destroy(actor, held_on=TODAY, committee="k", reason="r", card_ids=[card.id])
        assert blanks.cards_to_destroy() == []


def test_two_concurrent_uses_of_one_serial_exactly_one_wins(app, world):
    school_id, actor, (first, second) = school_with_cards(app, world, 2)
    run(app, school_id, lambda: blanks.receive(actor, supplier="PWPW", received_on=TODAY, first="B1", last="B3"))
    barrier, results = threading.Barrier(2), []
    threads = [threading.Thread(target=use_in_thread, args=(app, school_id, card, "B2", barrier, results))
               for card in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count("ok") == 1
    assert "został już użyty" in next(r for r in results if r != "ok")


def test_another_holders_serial_is_not_found(app, world):
    city = world.city()
    a, actor_a, (card_a,) = school_with_cards(app, world, 1, city)
    b, actor_b, _ = school_with_cards(app, world, 1, city)
    run(app, b, lambda: blanks.receive(actor_b, supplier="PWPW", received_on=TODAY, first="B-01", last="B-05"))
    with app.app_context(), tenant_scope(Tenant(school_id=a)):
        with pytest.raises(OperationError, match="nie ma w ewidencji"):
            blanks.use("B-01", card_school_id=a, card_id=card_a, card_label="1")
        assert blanks.stock() == blanks.Stock() and not blanks.keeps_ledger()
    with app.app_context(), tenant_scope(Tenant(school_id=b)):
        assert blanks.stock().in_stock == 5 and blanks.keeps_ledger()


# --- the state machine --------------------------------------------------------------------------


class BlankLedger(RuleBasedStateMachine):
    """Random moves against the real database. The model: serial → state, the card each used or
    spoiled blank was printed for, each card's state; after every step the database must agree."""

    app = world = None

    @initialize()
    def school(self):
        self.school_id, self.actor, self.cards = school_with_cards(self.app, self.world, 3)
        self.model: dict[str, str] = {}
        self.card_of: dict[str, int] = {}  # serial → card, while used or spoiled with a card
        self.card_state = {c: "live" for c in self.cards}  # live | spoiled | destroyed
        self.next_serial = 1

    def run(self, fn):
        return run(self.app, self.school_id, fn)

    def pick(self, data, states):
        serials = sorted(s for s, state in self.model.items() if state in states) or sorted(self.model) or ["S9999"]
        return data.draw(st.sampled_from(serials))

    def used_by(self, card_id):
        return next((s for s, c in self.card_of.items() if c == card_id and self.model[s] == "used"), None)

    @rule(count=st.integers(min_value=1, max_value=4), overlap=st.booleans())
    def receive(self, count, overlap):
        first = self.next_serial - 1 if overlap and self.model else self.next_serial
        last = first + count - 1
        result = self.run(lambda: blanks.receive(self.actor, supplier="PWPW", received_on=TODAY,
                                                 first=f"S{first:04d}", last=f"S{last:04d}"))
        assert isinstance(result, OperationError) == (first < self.next_serial)  # an overlap takes nothing
        if first == self.next_serial:
            for n in range(first, last + 1):
                self.model[f"S{n:04d}"] = "in_stock"
            self.next_serial = last + 1

    @rule(data=st.data(), card=st.integers(min_value=0, max_value=2))
    def use(self, data, card):
        serial, card_id = self.pick(data, ("in_stock", "used", "spoiled", "destroyed")), self.cards[card]
        if self.card_state[card_id] != "live":
            return  # a printer reports only cards of its orders, which are live
        result = self.run(lambda: blanks.use(serial, card_school_id=self.school_id, card_id=card_id,
                                             card_label=str(card_id)))
        allowed = self.model.get(serial) == "in_stock" and self.used_by(card_id) is None
        assert (not isinstance(result, OperationError)) == allowed, result
        if allowed:
            self.model[serial], self.card_of[serial] = "used", card_id

    @rule(card=st.integers(min_value=0, max_value=2))
    def correct(self, card):
        """The result naming the card's blank is corrected before shipping: the blank goes back."""
        card_id = self.cards[card]
        serial = self.used_by(card_id)
        if serial is None:
            return
        self.run(lambda: blanks.release(serial, card_school_id=self.school_id, card_id=card_id))
        self.model[serial] = "in_stock"
        del self.card_of[serial]

    @rule(data=st.data())
    def spoil_blank(self, data):
        serial = self.pick(data, ("in_stock", "used", "spoiled", "destroyed"))
        result = self.run(lambda: blanks.spoil(self.actor, [serial], "zacięcie drukarki"))
        allowed = self.model.get(serial) == "in_stock"
        assert (not isinstance(result, OperationError)) == allowed, result
        if allowed:
            self.model[serial] = "spoiled"

    @rule(card=st.integers(min_value=0, max_value=2))
    def spoil_card(self, card):
        card_id = self.cards[card]
        result = self.run(lambda: registry.spoil(self.actor, db.session.get(Card, card_id), "nieodebrana"))
        allowed = self.card_state[card_id] == "live"
        assert (not isinstance(result, OperationError)) == allowed, result
        if allowed:
            self.card_state[card_id] = "spoiled"
            serial = self.used_by(card_id)
            if serial:
                self.model[serial] = "spoiled"

    @rule(data=st.data())
    def destroy_blanks(self, data):
        serials = data.draw(st.lists(st.sampled_from(sorted(self.model) or ["S9999"]), min_size=1, max_size=3))
        result = self.run(lambda: blanks.destroy(self.actor, held_on=TODAY, committee="komisja", reason="zużyte",
                                                 serials=serials))
        allowed = all(self.model.get(s) in ("in_stock", "spoiled") for s in serials)
        assert (not isinstance(result, OperationError)) == allowed, result
        if allowed:
            for s in serials:
                self.model[s] = "destroyed"

    @rule(card=st.integers(min_value=0, max_value=2))
    def destroy_card(self, card):
        card_id = self.cards[card]
        result = self.run(lambda: blanks.destroy(self.actor, held_on=TODAY, committee="komisja", reason="nieodebrana",
                                                 card_ids=[card_id]))
        allowed = self.card_state[card_id] == "spoiled"
        assert (not isinstance(result, OperationError)) == allowed, result
        if allowed:
            self.card_state[card_id] = "destroyed"
            for serial, owner in self.card_of.items():
                if owner == card_id and self.model[serial] in ("used", "spoiled"):
                    self.model[serial] = "destroyed"

    @rule(data=st.data())
    def concurrent_use(self, data):
        serial = self.pick(data, ("in_stock",))
        free = [c for c in self.cards if self.card_state[c] == "live" and self.used_by(c) is None]
        if len(free) < 2 or self.model.get(serial) != "in_stock":
            return
        barrier, results = threading.Barrier(2), []
        threads = [threading.Thread(target=use_in_thread, args=(self.app, self.school_id, c, serial, barrier, results))
                   for c in free[:2]]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert results.count("ok") == 1, results
        self.model[serial] = "used"
        with self.app.app_context(), tenant_scope(Tenant(school_id=self.school_id)):
            self.card_of[serial] = db.session.scalar(select(Blank.card_id).where(Blank.serial == serial))

    @invariant()
    def ledger_balances(self):
        with self.app.app_context(), tenant_scope(Tenant(school_id=self.school_id)):
            rows = {b.serial: b for b in db.session.scalars(select(Blank))}
            states = {s: b.state for s, b in rows.items()}
            stock = blanks.stock()
            protocols = set(db.session.scalars(select(BlankProtocol.id)))
            destroyed_cards = db.session.execute(select(CardDestruction.card_id, func.count())
                                                 .group_by(CardDestruction.card_id)).all()
        assert states == self.model  # one state per serial, exactly the model's
        assert stock.received == len(self.model) == stock.in_stock + stock.used + stock.spoiled + stock.destroyed
        assert stock.in_stock == sum(1 for s in self.model.values() if s == "in_stock") >= 0
        used = [b.card_id for b in rows.values() if b.state == "used"]
        assert None not in used and len(used) == len(set(used))  # a used blank names one card, a card one blank
        assert {b.card_id for b in rows.values() if b.state == "used"} <= {
            c for c, s in self.card_state.items() if s == "live"}
        for b in rows.values():  # destroyed exactly when a protocol says so
            assert (b.state == "destroyed") == (b.protocol_id is not None)
            assert b.protocol_id is None or b.protocol_id in protocols
        assert all(n == 1 for _card, n in destroyed_cards)
        assert {c for c, _n in destroyed_cards} == {c for c, s in self.card_state.items() if s == "destroyed"}


def test_blank_ledger_state_machine(app, world):
    BlankLedger.app, BlankLedger.world = app, world
    machine = BlankLedger.TestCase
    machine.settings = settings(max_examples=12, stateful_step_count=14, deadline=None,
                                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    machine().runTest()
