"""Issue 16, two valid documents and the missing reasons (docs/domain.md §21): an e-card for a
paper-card holder is an exchange, the paper card valid until — and invalidated exactly at — the new
card's handover; a duplicate records the paper card lost; a new disability certificate gives a -N
card; a change of address orders no card; every issue and reissue lands on the mLegitymacja to-do,
paper-card holders included; an adult learner's objection is their own; a duplicate wants a current
photo. Hand-worked cases, real operations and database."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from infra import clock
from infra.db import db
from infra.db import utcnow
from printing import operations as printing_ops
from printing.models import PrintOrder
from tenants.mlegitymacja import operations as mlegitymacja
from tenants.pupils import applications
from tenants.pupils.models import Pupil
from tenants.registry import operations as registry
from tenants.registry.models import Card
from tenants.tenancy.actors import Actor
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import tenant_scope
from tenants.tenancy.errors import OperationError
from tenants.tenancy.models import AccessLog
from tenants.tenancy.models import Organisation
from tests.helpers import add_pupil
from tests.helpers import store_photo


@pytest.fixture
def school(app, world):
    city = world.city()
    school_id = world.school(city, "SP 7 Wymiana", card_number_format="{n}")
    printer = world.printer([city])
    user = world.user("dyr-wymiana@test.pl", school_id, "school_director")
    actor = Actor(user_id=user, role="school_director", organisation_id=school_id)
    with app.app_context(), tenant_scope(Tenant(school_id=school_id)):
        org = db.session.get(Organisation, school_id)
        org.bank_account = "07102050110000990202075919"
        yield actor, org, printer
        db.session.rollback()


def _paper_pupil(actor, org, serial, **extra) -> Pupil:
    pupil = add_pupil(actor, surname=f"Papierowa{chr(64 + serial % 26)}", serial=serial, **extra)
    store_photo(actor, org, pupil)
    registry.record_paper_card(actor, pupil, f"P/{serial}/2023", dt.date(2023, 9, 4))
    return pupil


def _ordered(actor, org, printer, application) -> Card:
    order = printing_ops.create_order(actor, org, printer, [application.id])
    (card,) = printing_ops.submit_order(actor, order)
    return card


def _delivered(card: Card) -> None:
    card.status = "delivered"  # printing and delivery are not under test here
    db.session.get(PrintOrder, card.order_id).delivered_at = utcnow()
    db.session.flush()


def _changes(pupil, action):
    return list(db.session.scalars(select(AccessLog.detail).where(
        AccessLog.pupil_id == pupil.id, AccessLog.action == action).order_by(AccessLog.id)))


def test_the_paper_card_is_invalidated_at_handover_not_at_order(school):
    actor, org, printer = school
    pupil = _paper_pupil(actor, org, 301)
    application = applications.create_application(actor, pupil, "first", school=org)
    # The exchange: free, the paper card's number on the application, still valid.
    assert (application.kind, application.fee_amount, application.paper_card_number) == ("first", 0, "P/301/2023")
    applications.decide_application(actor, application, approve=True)
    card = _ordered(actor, org, printer, application)
    assert pupil.holds_paper_card and pupil.paper_card_invalidated_on is None  # ordered: the pupil keeps a document
    _delivered(card)
    assert pupil.holds_paper_card  # delivered to the school, not yet handed over: still valid
    with pytest.raises(OperationError, match="P/301/2023"):  # the paper card must come back
        printing_ops.record_handover(actor, card, handed_over_on=clock.today(), collected_by="Anna Papierowa")
    assert pupil.holds_paper_card and card.status == "delivered"
    printing_ops.record_handover(actor, card, handed_over_on=clock.today(), collected_by="Anna Papierowa",
                                 paper_card_returned=True)
    assert not pupil.holds_paper_card
    assert (pupil.paper_card_invalidated_on, pupil.paper_card_invalidation) == (clock.today(), "returned")
    assert _changes(pupil, "paper_card_invalidated") == [f"number=P/301/2023 end=returned card={card.id}"]
    who = db.session.scalar(select(AccessLog.actor_user_id).where(AccessLog.pupil_id == pupil.id,
                                                                   AccessLog.action == "paper_card_invalidated"))
    assert who == actor.user_id
    # The paper card was exchanged once: a later application is no exchange.
    assert applications.create_application(actor, pupil, "duplicate", reason_code="lost",
                                           school=org).paper_card_number == ""


def test_a_duplicate_for_a_paper_card_holder_records_the_loss_at_handover(school):
    actor, org, printer = school
    pupil = _paper_pupil(actor, org, 302)
    application = applications.create_application(actor, pupil, "duplicate", reason_code="lost", school=org)
    assert (application.fee_amount, application.paper_card_number) == (9, "P/302/2023")
    applications.record_payment(actor, application, amount=application.fee_amount, paid_on=clock.today(),
                                reference="przelew")
    applications.decide_application(actor, application, approve=True)
    card = _ordered(actor, org, printer, application)
    _delivered(card)
    assert pupil.holds_paper_card
    # Nothing to return: the paper card is the one lost.
    printing_ops.record_handover(actor, card, handed_over_on=clock.today(), collected_by="Jan Papierowy")
    assert (pupil.paper_card_invalidated_on, pupil.paper_card_invalidation) == (clock.today(), "lost")


def test_a_replacement_for_a_paper_card_holder_keeps_the_paper_card_until_handover(school):
    actor, org, printer = school
    pupil = _paper_pupil(actor, org, 303)
    application = applications.create_application(actor, pupil, "replacement", reason_code="no_stamp_room",
                                                  school=org)
    with pytest.raises(OperationError, match="przy odbiorze"):  # not returned before the new card exists
        applications.record_old_card_return(actor, application, clock.today())
    applications.decide_application(actor, application, approve=True)  # no earlier return needed
    card = _ordered(actor, org, printer, application)
    _delivered(card)
    yesterday = clock.today() - dt.timedelta(days=1)
    db.session.get(PrintOrder, card.order_id).delivered_at = utcnow() - dt.timedelta(days=1)
    printing_ops.record_handover(actor, card, handed_over_on=yesterday, collected_by="Ewa Papierowa",
                                 paper_card_returned=True)
    assert (pupil.paper_card_invalidated_on, pupil.paper_card_invalidation) == (yesterday, "returned")


def test_a_new_disability_certificate_gives_a_card_on_the_n_template(school):
    actor, org, printer = school
    pupil = add_pupil(actor, surname="Orzeczenie", serial=304)
    store_photo(actor, org, pupil)
    with pytest.raises(OperationError, match="zaznacz niepełnosprawność"):
        applications.create_application(actor, pupil, "replacement", reason_code="new_certificate", school=org)
    pupil.disabled = True  # the pupil's record, edited by staff who saw the orzeczenie
    db.session.flush()
    application = applications.create_application(actor, pupil, "replacement", reason_code="new_certificate",
                                                  school=org)
    assert application.reason_label.startswith("nowe orzeczenie o niepełnosprawności")
    applications.record_old_card_return(actor, application, clock.today())
    applications.decide_application(actor, application, approve=True)
    assert _ordered(actor, org, printer, application).template_code == "MEiN-I/3-N"
    adult = add_pupil(actor, surname="Słuchacz", serial=305, learner_type="adult", disabled=True)
    store_photo(actor, org, adult)
    application = applications.create_application(actor, adult, "replacement", reason_code="new_certificate",
                                                  school=org)
    applications.record_old_card_return(actor, application, clock.today())
    applications.decide_application(actor, application, approve=True)
    assert _ordered(actor, org, printer, application).template_code == "MEiN-I/4-N"


def test_a_change_of_address_orders_no_card_and_old_rows_stay_readable(school):
    actor, org, _printer = school
    pupil = add_pupil(actor, surname="Adresowa", serial=306)
    with pytest.raises(OperationError, match="Zmiana adresu nie wymaga nowej legitymacji"):
        applications.create_application(actor, pupil, "replacement", reason_code="address_change", school=org)
    assert "address_change" not in applications.REPLACEMENT_REASONS
    old = applications.create_application(actor, pupil, "replacement", reason_code="data_error", school=org)
    old.reason_code = "address_change"  # a row stored before the reason was retired
    assert old.reason_label == "zmiana adresu (nie wymaga nowej legitymacji)"


def test_a_duplicate_wants_a_photo_from_the_last_six_months(school):
    actor, org, _printer = school
    pupil = add_pupil(actor, surname="Zdjęciowa", serial=307)
    store_photo(actor, org, pupil)
    application = applications.create_application(actor, pupil, "duplicate", reason_code="stolen", school=org)
    applications.record_payment(actor, application, amount=application.fee_amount, paid_on=clock.today(),
                                reference="przelew")
    pupil.photo_uploaded_at = utcnow() - dt.timedelta(days=200)  # more than six months
    db.session.flush()
    with pytest.raises(OperationError, match="aktualne zdjęcie"):
        applications.decide_application(actor, application, approve=True)
    pupil.photo_uploaded_at = utcnow() - dt.timedelta(days=150)  # less than five months
    applications.decide_application(actor, application, approve=True)
    assert application.status == "approved"


def test_every_issue_and_reissue_puts_the_pupil_on_the_mlegitymacja_todo(school):
    actor, org, printer = school
    pupil = _paper_pupil(actor, org, 308)
    today = clock.today()

    def todo():
        return [(t.action, t.card.label) for t in mlegitymacja.todo() if t.pupil.id == pupil.id]

    # A paper card is a basis for the mLegitymacja (Rybnik V.1).
    assert todo() == [("register", "P/308/2023 (papierowa)")]
    (task,) = mlegitymacja.todo()
    mlegitymacja.mark_registered(actor, pupil, task.card, today)
    assert todo() == []
    # First e-card, in exchange: the paper one's entry is invalidated, the new card registered.
    application = applications.create_application(actor, pupil, "first", school=org)
    applications.decide_application(actor, application, approve=True)
    first = _ordered(actor, org, printer, application)
    assert todo() == []  # ordered only: nothing changes in SIO yet
    _delivered(first)
    printing_ops.record_handover(actor, first, handed_over_on=today, collected_by="Ola Papierowa",
                                 paper_card_returned=True)
    assert sorted(todo()) == [("invalidate", "P/308/2023 (papierowa)"), ("register", first.label)]
    for task in mlegitymacja.todo():
        if task.action == "register":
            mlegitymacja.mark_registered(actor, pupil, task.card, today)
    assert todo() == []
    # A duplicate reissues it: invalidate the old entry, register the new card.
    application = applications.create_application(actor, pupil, "duplicate", reason_code="lost", school=org)
    applications.record_payment(actor, application, amount=application.fee_amount, paid_on=today, reference="x")
    applications.decide_application(actor, application, approve=True)
    second = _ordered(actor, org, printer, application)
    _delivered(second)
    printing_ops.record_handover(actor, second, handed_over_on=today, collected_by="Ola Papierowa")
    assert sorted(todo()) == [("invalidate", first.label), ("register", second.label)]
    assert b"P/308/2023" not in mlegitymacja.sio_csv(actor, [])


def test_an_adult_learners_objection_is_their_own(school):
    actor, org, _printer = school
    adult = _paper_pupil(actor, org, 309, learner_type="adult")
    minor = _paper_pupil(actor, org, 310)
    assert adult.objects_for_themself and not minor.objects_for_themself
    mlegitymacja.record_objection(actor, adult, clock.today())
    mlegitymacja.record_objection(actor, minor, clock.today())
    assert _changes(adult, "mleg_objection") == ["by=learner"] and _changes(minor, "mleg_objection") == [""]
    assert mlegitymacja.todo() == []  # objections keep both off the list
    with pytest.raises(OperationError, match="Słuchacz nie zgodził się"):
        mlegitymacja.mark_registered(actor, adult, mlegitymacja.PaperCard(adult), clock.today())
